/* dialog-common.h — small helpers shared by the GIMP 3 dialogs. */
#ifndef DREAM_UI_GIMP3_DIALOG_COMMON_H
#define DREAM_UI_GIMP3_DIALOG_COMMON_H

#include <libgimp/gimpui.h>

/* The widget of `property` is sensitive only while `config_property` of
 * `config` (a string or choice property) equals `value`. Wraps
 * gimp_procedure_dialog_set_sensitive_if_in(), which takes ownership of
 * the value array it is given: each call gets its own array here (freeing
 * it afterwards, or giving one array to two calls, is a double free that
 * crashes or hangs the plug-in when the dialog's config is finalised). */
void dream_dialog_sensitive_if (GimpProcedureDialog *dialog, const char *property,
                                GObject *config, const char *config_property,
                                const char *value);

/* The same for several values: sensitive while `config_property` equals
 * any of the NULL-terminated values (one new array per call, as above). */
void dream_dialog_sensitive_if_any (GimpProcedureDialog *dialog, const char *property,
                                    GObject *config, const char *config_property,
                                    const char *value, ...) G_GNUC_NULL_TERMINATED;

#endif

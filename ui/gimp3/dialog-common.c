/* dialog-common.c — small helpers shared by the GIMP 3 dialogs (see the
 * header). */
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "dialog-common.h"

void
dream_dialog_sensitive_if (GimpProcedureDialog *dialog, const char *property,
                           GObject *config, const char *config_property,
                           const char *value)
{
  GimpValueArray *values = gimp_value_array_new (1);
  GValue v = G_VALUE_INIT;

  g_value_init (&v, G_TYPE_STRING);
  g_value_set_string (&v, value);
  gimp_value_array_append (values, &v);
  g_value_unset (&v);
  /* transfer full: the dialog frees `values` */
  gimp_procedure_dialog_set_sensitive_if_in (dialog, property, config, config_property,
                                             values, TRUE);
}

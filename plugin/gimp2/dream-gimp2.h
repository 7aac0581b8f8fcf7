/* dream-gimp2.h — what the GIMP 2.10 procedures of the `dreamlayer`
 * executable share (dream-denoise.c holds main, query and run and these
 * helpers; dream-upscale.c the upscale procedure). */
#ifndef DREAM_GIMP2_H
#define DREAM_GIMP2_H

#include <libgimp/gimp.h>

#define DREAM_GIMP2_PARASITE "dreamlayer-settings"

/* Engine progress → GIMP's progress bar; `user` is a gdouble (last value
 * shown, start at -1). Never cancels: GIMP ends the plug-in itself. */
gboolean dream_gimp2_progress (gpointer user, double fraction);

/* Attaches the "dreamlayer-settings" parasite (persistent, undoable). */
void dream_gimp2_attach_settings (gint32 item, const gchar *text);

/* Registers plug-in-dream-upscale. */
void dream_gimp2_upscale_query (void);

/* Runs plug-in-dream-upscale. On success returns TRUE with *image_out and
 * *layer_out; else FALSE with *status and *message (newly allocated). */
gboolean dream_gimp2_upscale_run (gint               nparams,
                                  const GimpParam   *param,
                                  gint32            *image_out,
                                  gint32            *layer_out,
                                  GimpPDBStatusType *status,
                                  gchar            **message);

#endif

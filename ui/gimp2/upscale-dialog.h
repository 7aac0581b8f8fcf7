/* upscale-dialog.h — the GIMP 2.10 dialog of Filters ▸ Enhance ▸ Dream Upscale…
 *
 * GTK2 + libgimpui-2.0. Only interactive runs show it.
 */
#ifndef DREAM_GIMP2_UPSCALE_DIALOG_H
#define DREAM_GIMP2_UPSCALE_DIALOG_H

#include <glib.h>
#include "denoise-dialog.h"   /* DREAM_GIMP2_BINARY, DREAM_GIMP2_MODEL_MAX */

#define DREAM_GIMP2_UPSCALE_PROC   "plug-in-dream-upscale"

/* The settings, kept between runs with gimp_set_data()/gimp_get_data(). */
typedef struct {
  gdouble  scale;                        /* 1..8 */
  gboolean new_image;                    /* result as a new image */
  gchar    model[DREAM_GIMP2_MODEL_MAX]; /* "photo", "anime", "fast" or a path */
} DreamGimp2UpscaleVals;

/* Shows the dialog for `drawable_id` (the active layer) and edits `vals`.
 * Returns TRUE when the user pressed OK. gimp_ui_init() must have been
 * called. */
gboolean dream_gimp2_upscale_dialog (gint32                 drawable_id,
                                     DreamGimp2UpscaleVals *vals);

#endif

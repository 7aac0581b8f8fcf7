/* denoise-dialog.h — the GIMP 2.10 dialog of Filters ▸ Enhance ▸ Dream Denoise…
 *
 * GTK2 + libgimpui-2.0. Only interactive runs show it; the procedure itself
 * (plugin/gimp2/dream-denoise.c) never depends on it otherwise.
 */
#ifndef DREAM_GIMP2_DENOISE_DIALOG_H
#define DREAM_GIMP2_DENOISE_DIALOG_H

#include <glib.h>

#define DREAM_GIMP2_DENOISE_PROC   "plug-in-dream-denoise"
#define DREAM_GIMP2_BINARY         "dreamlayer"
#define DREAM_GIMP2_MODEL_MAX      1024

/* The settings, kept between runs with gimp_set_data()/gimp_get_data():
 * a plain struct of fixed size, no pointers. */
typedef struct {
  gdouble  sigma;                      /* 0..75, 8-bit levels */
  gboolean estimate;                   /* measure sigma from the layer */
  gchar    model[DREAM_GIMP2_MODEL_MAX]; /* "color", "gray", a file path,
                                          or "" = pick from the layer type */
} DreamGimp2DenoiseVals;

/* Shows the dialog for `drawable_id` (the active layer) and edits `vals`.
 * `roi_*` is the region that will be processed (selection bounds ∩ layer, in
 * layer coordinates); the "Estimate" toggle measures σ there. Returns TRUE
 * when the user pressed OK. gimp_ui_init() must have been called. */
gboolean dream_gimp2_denoise_dialog (gint32                  drawable_id,
                                     gint                    roi_x,
                                     gint                    roi_y,
                                     gint                    roi_width,
                                     gint                    roi_height,
                                     DreamGimp2DenoiseVals  *vals);

#endif

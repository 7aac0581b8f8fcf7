/* inpaint-dialog.h — the GIMP 2.10 dialog of Filters ▸ Dream ▸ Inpaint
 * Selection… and Filters ▸ Dream ▸ Extend Canvas…
 *
 * GTK2 + libgimpui-2.0. Only interactive runs show it.
 */
#ifndef DREAM_GIMP2_INPAINT_DIALOG_H
#define DREAM_GIMP2_INPAINT_DIALOG_H

#include <glib.h>
#include "denoise-dialog.h"   /* DREAM_GIMP2_BINARY, DREAM_GIMP2_MODEL_MAX */

#define DREAM_GIMP2_INPAINT_PROC   "plug-in-dream-inpaint"
#define DREAM_GIMP2_OUTPAINT_PROC  "plug-in-dream-outpaint"
#define DREAM_GIMP2_PROMPT_MAX     1024
#define DREAM_GIMP2_ASPECT_MAX     32

/* The settings of either procedure, kept between runs with
 * gimp_set_data()/gimp_get_data() under the procedure's name. */
typedef struct {
  gint     mode;                 /* 0 content-aware, 1 generate */
  gint     whole;                /* sample from: 0 around the area, 1 whole image */
  gint     context;              /* sampling width around the area, pixels */
  gint     seed;
  gint     left, right, top, bottom;   /* Extend Canvas: pixels to add */
  gint     feather;              /* Extend Canvas: blend width */
  gint     extend_by;            /* Extend Canvas: 0 the sides above; bits
                                    1 target_width/height, 2 aspect (the
                                    dialog gives 0, 1 or 2; a script setting
                                    both gets 3, which is refused) */
  gint     target_width, target_height;  /* 0 = keep that side */
  gint     anchor;               /* dream_anchor: where the old picture sits */
  gchar    aspect[DREAM_GIMP2_ASPECT_MAX];   /* "16:9" */
  gint     steps;                /* generate */
  gdouble  cfg_scale;            /* generate */
  gdouble  strength;             /* generate */
  gchar    prompt[DREAM_GIMP2_PROMPT_MAX];
  gchar    negative[DREAM_GIMP2_PROMPT_MAX];
  gchar    model[DREAM_GIMP2_MODEL_MAX];   /* generate: SD checkpoint; "" = the default */
} DreamGimp2InpaintVals;

/* Shows the dialog and edits `vals` (with `extend`, also how to extend:
 * the sides, a size or an aspect with its anchor, and the blend width;
 * image_width/height seed the size fields). Returns TRUE when the user pressed OK. gimp_ui_init()
 * must have been called. */
gboolean dream_gimp2_inpaint_dialog (gboolean extend, DreamGimp2InpaintVals *vals,
                                     gint image_width, gint image_height);

#endif

/* generate-dialog.h — the GIMP 2.10 dialog of Filters ▸ Render ▸ Dream ▸
 * Text to Image… and Reimagine Layer…
 *
 * GTK2 + libgimpui-2.0. Only interactive runs show it.
 */
#ifndef DREAM_GIMP2_GENERATE_DIALOG_H
#define DREAM_GIMP2_GENERATE_DIALOG_H

#include <glib.h>
#include "denoise-dialog.h"   /* DREAM_GIMP2_BINARY, DREAM_GIMP2_MODEL_MAX */

#define DREAM_GIMP2_TXT2IMG_PROC  "plug-in-dream-txt2img"
#define DREAM_GIMP2_IMG2IMG_PROC  "plug-in-dream-img2img"
#define DREAM_GIMP2_GEN_PROMPT_MAX    4096

/* The settings, kept between runs with gimp_set_data()/gimp_get_data():
 * a plain struct of fixed size, no pointers. Same meanings as the PDB
 * arguments (see plugin/gimp2/dream-generate.c). */
typedef struct {
  gchar    prompt[DREAM_GIMP2_GEN_PROMPT_MAX];
  gchar    negative[DREAM_GIMP2_GEN_PROMPT_MAX];
  gchar    model[DREAM_GIMP2_MODEL_MAX];      /* "" = built-in shapes-sd */
  gint     width, height;                     /* 0 = the image's size */
  gint     seed;                              /* used when !random_seed */
  gboolean random_seed;
  gint     last_seed;                         /* -1 = none yet */
  gint     steps;                             /* 0 = model's default */
  gdouble  cfg;                               /* < 0 = model's default */
  gchar    sampler[32];                       /* "default", "euler", … */
  gint     count;
  gboolean rank_by_clip;
  gchar    clip_model[DREAM_GIMP2_MODEL_MAX]; /* "" = default */
  gdouble  strength;                          /* img2img */
} DreamGimp2GenerateVals;

/* Shows the dialog and edits `vals`; img2img shows strength instead of
 * size and ranking. image_w/h are shown as the default size. Returns
 * TRUE when the user pressed OK. gimp_ui_init() must have been called. */
gboolean dream_gimp2_generate_dialog (gboolean                 img2img,
                                      gint                     image_w,
                                      gint                     image_h,
                                      DreamGimp2GenerateVals  *vals);

#endif

/* dream-gen-pixels.h — Text to Image and Reimagine Layer (image to image),
 * the part shared by the GIMP 3 and GIMP 2.10 front ends: model choice,
 * the engine runs (one per image, seeds seed, seed + 1, …), the optional
 * ranking by CLIP, the layer names and the settings text stored on each
 * result. GEGL and libdream only, like dream-pixels.c: no libgimp here.
 *
 * Settings text (the "dreamlayer-settings" parasite of each result), one
 * line of shell-quoted words, so that g_shell_parse_argv() in C or
 * shlex.split() in Python reads it back:
 *
 *     txt2img prompt='a red circle' negative='' model='shapes-sd' seed=1234
 *       steps=20 cfg=7.5 sampler=dpmpp-2m-karras width=64 height=64
 *     img2img prompt=… negative=… model=… seed=… steps=… cfg=… sampler=…
 *       strength=0.6 width=64 height=48
 *
 * (on one line). Every value is the one actually used (model defaults
 * resolved), so the same procedure called with these values gives the same
 * pixels. A ranked result also carries clip=0.3123 (its cosine similarity
 * with the prompt) and clip-model='…'.
 *
 * Test hook: DREAM_TEST_CANCEL_AT (see dream-pixels.c) cancels as soon as
 * the whole run's progress (all images, and the ranking) reaches it.
 */
#ifndef DREAM_GEN_PIXELS_H
#define DREAM_GEN_PIXELS_H

#include <gegl.h>
#include "dream.h"

#define DREAM_GEN_DEFAULT_MODEL  "shapes-sd"    /* bundled, models/shapes-sd.* */
#define DREAM_GEN_MAX_COUNT      16
#define DREAM_GEN_MAX_SIZE       4096

/* The Stable Diffusion model for a user's choice (dream_sd_model_find):
 * "" or NULL = the first SD model installed in the model folders other
 * than the bundled DREAM_GEN_DEFAULT_MODEL, else that one; a name
 * dream_model_find() knows; or a file / diffusers folder path. *shown
 * gets what the settings text names (the choice; for "" the installed
 * model's path, or DREAM_GEN_DEFAULT_MODEL); free it even on failure. A
 * file that is not an SD model is an error naming it. */
dream_model *dream_gen_load_sd (const char *model, char **shown, GError **error);

typedef struct {
  const char *prompt;       /* UTF-8; NULL = "" */
  const char *negative;     /* UTF-8; NULL = "" */
  const char *model;        /* dream_gen_load_sd()'s choice */
  int width, height;        /* text to image: the size, multiples of 8
                               (8..4096); ignored for image to image */
  gint64 seed;              /* the first image's seed, >= 0 */
  int steps;                /* 0 = the model's default */
  double cfg;               /* < 0 = the model's default */
  const char *sampler;      /* "euler", "euler-a", "ddim", "dpmpp-2m-karras",
                               "lcm"; "" / NULL / "default" = the model's */
  int count;                /* images, 1..DREAM_GEN_MAX_COUNT */
  double strength;          /* image to image: 0..1 */
  gboolean rank_by_clip;    /* order the results best first by CLIP */
  const char *clip_model;   /* "" or NULL = dream_clip_model_default() (an
                               installed CLIP, else the bundled shapes-clip);
                               a name, or a path */
  int n_threads;            /* 0 = all cores */
  dream_progress_func progress;  /* may be NULL; FALSE cancels */
  gpointer progress_user;
} dream_gen_args;

typedef struct {
  GeglBuffer *buffer;   /* text to image: R'G'B' float (sRGB), extent
                           0,0,width,height; image to image: R'G'B'A float
                           in the source's space, extent = the region */
  guint64 seed;
  double clip;          /* cosine with the prompt; NAN when not ranked */
  char *name;           /* the layer name */
  char *settings;       /* the settings text (see above) */
} dream_gen_result;

/* Nearest multiple of 8 of `size`, within 8..DREAM_GEN_MAX_SIZE. */
int dream_gen_round8 (int size);

/* A fresh random seed in 0..G_MAXINT32 - DREAM_GEN_MAX_COUNT (so that
 * seed + count - 1 still fits a PDB int). */
gint64 dream_gen_random_seed (void);

/* Text to image: args->count images. Returns them (best first when
 * ranked, else in seed order) and their number in *n_results; NULL +
 * GError on failure or cancel, and then nothing was made. A bad model
 * fails before any work. Free with dream_gen_results_free(). */
dream_gen_result *dream_gen_txt2img (const dream_gen_args *args,
                                     int *n_results, GError **error);

/* Image to image on the region `roi` of `src` (drawable coordinates;
 * usually the selection bounds clipped to the layer). The region is read
 * as R'G'B'A float in the source's own space (grey as RGB), padded to
 * multiples of 8 by repeating its last row and column, generated with
 * init = the padded region and args->strength, and cropped back: every
 * result has exactly the region's extent. Alpha = source alpha × the
 * selection (`mask`, image coordinates shifted by mask_dx/dy, may be
 * NULL). Errors and ownership as dream_gen_txt2img(). */
dream_gen_result *dream_gen_img2img (GeglBuffer *src,
                                     GeglBuffer *mask, int mask_dx, int mask_dy,
                                     const GeglRectangle *roi,
                                     const dream_gen_args *args,
                                     int *n_results, GError **error);

void dream_gen_results_free (dream_gen_result *results, int n);

#endif

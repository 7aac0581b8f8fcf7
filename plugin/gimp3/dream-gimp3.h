/* dream-gimp3.h — the GIMP 3 front end of Dreamlayer: one plug-in
 * executable, `dreamlayer`, whose procedures live one area per file
 * (denoise.c, upscale.c, …). dreamlayer.c registers them from the table
 * it holds; a new procedure adds a constructor below and a row there.
 *
 * Every procedure follows the same rules: the engine runs first, into
 * buffers of the plug-in's own; only when every engine call succeeded are
 * layers created, inside one undo group, so a cancel or an error leaves
 * the image exactly as it was. Errors go back to GIMP as the GError of
 * the procedure's return values.
 */
#ifndef DREAM_GIMP3_H
#define DREAM_GIMP3_H

#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "dream-config.h"
#include "dream-pixels.h"

#define DREAM_GIMP3_BINARY   "dreamlayer"           /* for gimp_ui_init () */
#define DREAM_GIMP3_PARASITE "dreamlayer-settings"  /* the settings of a result */

/* ---- procedures: each returns a new, fully described GimpProcedure ---- */

GimpProcedure *dream_gimp3_denoise_new (GimpPlugIn *plug_in);  /* plug-in-dream-denoise */
GimpProcedure *dream_gimp3_upscale_new (GimpPlugIn *plug_in);  /* plug-in-dream-upscale */
GimpProcedure *dream_gimp3_inpaint_new (GimpPlugIn *plug_in);  /* plug-in-dream-inpaint (inpaint.c) */
GimpProcedure *dream_gimp3_outpaint_new (GimpPlugIn *plug_in); /* plug-in-dream-outpaint (inpaint.c) */
GimpProcedure *dream_gimp3_clip_score_new (GimpPlugIn *plug_in);  /* plug-in-dream-clip-score (clip.c) */
GimpProcedure *dream_gimp3_describe_new (GimpPlugIn *plug_in);    /* plug-in-dream-describe (clip.c) */
GimpProcedure *dream_gimp3_txt2img_new (GimpPlugIn *plug_in);  /* plug-in-dream-txt2img (generate.c) */
GimpProcedure *dream_gimp3_img2img_new (GimpPlugIn *plug_in);  /* plug-in-dream-img2img (generate.c) */

/* ---- shared helpers (common.c) ------------------------------------------ */

/* Progress of one engine call mapped into a share of GIMP's bar. */
typedef struct {
  double base, span;  /* this call's share of the whole run */
  double shown;       /* last fraction sent to GIMP */
} dream_gimp3_progress_state;

/* A dream_progress_func; user is a dream_gimp3_progress_state. Never
 * cancels by itself: GIMP's Cancel ends the plug-in process, and nothing
 * has been written to the image before the engine returns. */
gboolean dream_gimp3_progress (gpointer user, double fraction);

/* The procedure's return values for `error` (taken): CANCEL for
 * DREAM_ERROR_CANCELLED, else EXECUTION_ERROR with the message. */
GimpValueArray *dream_gimp3_fail (GimpProcedure *procedure, GError *error);

/* The dialog's aux settings "model-kind" (a built-in name or "file") and
 * "model-file" into the string argument "model"; FALSE + error when
 * "file" was chosen without a file (`what` names the alternatives). */
gboolean dream_gimp3_model_from_dialog (GimpProcedureConfig *config, const char *fallback,
                                        const char *what, GError **error);
/* And back: a built-in name selects its choice, anything else the file. */
void dream_gimp3_model_to_dialog (GimpProcedureConfig *config, const char *model,
                                  gboolean builtin);

/* Why `drawable` cannot be worked on by `title` (a channel, a layer group,
 * an indexed layer), or NULL if it can. */
GError *dream_gimp3_layer_problem (const char *title, GimpDrawable *drawable);

/* "The selection does not cover any part of layer "NAME"." */
GError *dream_gimp3_outside_selection (GimpDrawable *drawable);

/* Attaches the persistent "dreamlayer-settings" parasite (undoable). */
void dream_gimp3_attach_settings (GimpItem *item, const char *text);

#endif

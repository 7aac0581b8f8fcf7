/* clip-dialog.h — the GIMP 2.10 dialogs of Filters ▸ Dream ▸ Score Captions…
 * and Describe Layer… (GTK2 + libgimpui-2.0; interactive runs only).
 */
#ifndef DREAM_GIMP2_CLIP_DIALOG_H
#define DREAM_GIMP2_CLIP_DIALOG_H

#include <glib.h>
#include "denoise-dialog.h"   /* DREAM_GIMP2_BINARY, DREAM_GIMP2_MODEL_MAX */

#define DREAM_GIMP2_CLIP_SCORE_PROC "plug-in-dream-clip-score"
#define DREAM_GIMP2_DESCRIBE_PROC   "plug-in-dream-describe"
#define DREAM_GIMP2_TXT2IMG_PROC_NAME "plug-in-dream-txt2img"
#define DREAM_GIMP2_CAPTIONS_MAX    8192

/* Last-used values (gimp_set_data / gimp_get_data). */
typedef struct {
  gchar captions[DREAM_GIMP2_CAPTIONS_MAX];   /* one per line */
  gchar model[DREAM_GIMP2_MODEL_MAX];         /* "" = the default CLIP */
} DreamGimp2ClipScoreVals;

typedef struct {
  gchar model[DREAM_GIMP2_MODEL_MAX];         /* "" = the default CLIP */
  gchar vocabulary[DREAM_GIMP2_MODEL_MAX];    /* "" = the bundled one */
} DreamGimp2DescribeVals;

/* Scores `captions` (text, one per line) with `model`; on success returns
 * the ranking text ("probability<TAB>cosine<TAB>caption" lines, best
 * first), else NULL + error. Called by the dialog's Score button. */
typedef gchar *(*DreamGimp2ScoreFunc) (gpointer user, const gchar *captions,
                                       const gchar *model, GError **error);

/* The Score Captions dialog: a text box of captions (vals->captions), the
 * model (vals->model), Score, the ranking in a list (probability, cosine,
 * caption), Copy (the ranking as text, to the clipboard), Close. Returns
 * the last ranking computed (g_free), or NULL if the user scored nothing. */
gchar *dream_gimp2_clip_score_dialog (DreamGimp2ClipScoreVals *vals,
                                      DreamGimp2ScoreFunc score, gpointer user);

/* The Describe Layer dialog: the caption in an editable entry, Copy, and
 * "Text to Image…" (runs plug-in-dream-txt2img interactively with the
 * caption as its prompt; shown only when that procedure is installed).
 * Returns the caption as the user left it (g_free). */
gchar *dream_gimp2_describe_dialog (gint32 image, gint32 drawable, const gchar *caption);

#endif

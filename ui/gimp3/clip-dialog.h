/* clip-dialog.h — the GIMP 3 dialogs of Score Captions… and Describe
 * Layer… (GTK3 + libgimpui-3.0). Interactive runs only. */
#ifndef DREAM_CLIP_DIALOG_H
#define DREAM_CLIP_DIALOG_H

#include <libgimp/gimp.h>

/* Scores `captions` (text, one per line) with `model`: the ranking text
 * ("probability<TAB>cosine<TAB>caption" lines, best first), or NULL +
 * error. Called by the Score button. */
typedef char *(*dream_clip_score_func) (gpointer user, const char *captions,
                                        const char *model, GError **error);

/* Score Captions: a text box of captions (*captions, one per line), the
 * model (*model, "" = the default), Score, the ranking in a list
 * (probability, cosine, caption), Copy (the ranking as text to the
 * clipboard), Close. *captions and *model are replaced by what the user
 * left (g_free). Returns the last ranking computed (g_free) or NULL. */
char *dream_clip_score_dialog_run (char **captions, char **model,
                                   dream_clip_score_func score, gpointer user);

/* Describe Layer: the caption in an editable entry, Copy, and "Text to
 * Image…" — shown only when plug-in-dream-txt2img is in the PDB; it runs
 * that procedure interactively with the caption as its prompt. Returns
 * the caption as the user left it (g_free). */
char *dream_describe_dialog_run (GimpImage *image, const char *caption);

#endif

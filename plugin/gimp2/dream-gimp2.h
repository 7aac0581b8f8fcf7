/* dream-gimp2.h — what the GIMP 2.10 procedures of the `dreamlayer`
 * executable share. dreamlayer.c holds main and dispatches query and run
 * to one file per area (dream-denoise.c, dream-upscale.c, …) through the
 * table it holds; a new procedure adds its pair below and a row there.
 * The shared helpers live in dream-denoise.c. */
#ifndef DREAM_GIMP2_H
#define DREAM_GIMP2_H

#include <libgimp/gimp.h>

#define DREAM_GIMP2_PARASITE "dreamlayer-settings"

/* Engine progress → GIMP's progress bar; `user` is a gdouble (last value
 * shown, start at -1). Never cancels: GIMP ends the plug-in itself. */
gboolean dream_gimp2_progress (gpointer user, double fraction);

/* The status of a run the engine failed (error is taken): a cancel is
 * CANCEL for people, but an EXECUTION_ERROR for scripts (Script-Fu in 2.10
 * passes CANCEL on as a success, and a script would go on with a layer
 * that does not exist); *message (newly allocated) is "TITLE was
 * cancelled; the image is unchanged." or "TITLE: <the error>". */
GimpPDBStatusType dream_gimp2_error_status (GError *error, GimpRunMode run_mode,
                                            const gchar *title, gchar **message);

/* Attaches the "dreamlayer-settings" parasite (persistent, undoable). */
void dream_gimp2_attach_settings (gint32 item, const gchar *text);

/* One procedure area: query installs its procedures; run executes one
 * (the GimpPlugInInfo run signature; gegl_init has been called). */
typedef void (*dream_gimp2_run_func) (const gchar      *name,
                                      gint              nparams,
                                      const GimpParam  *param,
                                      gint             *nreturn_vals,
                                      GimpParam       **return_vals);

void dream_gimp2_denoise_query (void);   /* plug-in-dream-denoise */
void dream_gimp2_denoise_run (const gchar *name, gint nparams, const GimpParam *param,
                              gint *nreturn_vals, GimpParam **return_vals);
void dream_gimp2_upscale_query (void);   /* plug-in-dream-upscale */
void dream_gimp2_upscale_run (const gchar *name, gint nparams, const GimpParam *param,
                              gint *nreturn_vals, GimpParam **return_vals);
void dream_gimp2_inpaint_query (void);   /* plug-in-dream-inpaint (dream-inpaint.c) */
void dream_gimp2_outpaint_query (void);  /* plug-in-dream-outpaint (dream-inpaint.c) */
/* runs either of the two, by name */
void dream_gimp2_inpaint_run (const gchar *name, gint nparams, const GimpParam *param,
                              gint *nreturn_vals, GimpParam **return_vals);
void dream_gimp2_txt2img_query (void);   /* plug-in-dream-txt2img (dream-generate.c) */
void dream_gimp2_img2img_query (void);   /* plug-in-dream-img2img (dream-generate.c) */
void dream_gimp2_generate_run (const gchar *name, gint nparams, const GimpParam *param,
                               gint *nreturn_vals, GimpParam **return_vals);

void dream_gimp2_clip_score_query (void);   /* plug-in-dream-clip-score (dream-clip.c) */
void dream_gimp2_describe_query (void);     /* plug-in-dream-describe (dream-clip.c) */
void dream_gimp2_clip_run (const gchar *name, gint nparams, const GimpParam *param,
                           gint *nreturn_vals, GimpParam **return_vals);

#endif

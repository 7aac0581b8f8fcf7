/* dreamlayer.c — the GIMP 2.10 plug-in `dreamlayer`: main, and the table
 * that sends GIMP's query and run to each procedure's own file (see
 * dream-gimp2.h). */
#include <string.h>

#include <libgimp/gimp.h>
#include <gegl.h>

#include "dream-gimp2.h"
#include "denoise-dialog.h"
#include "upscale-dialog.h"
#include "inpaint-dialog.h"
#include "clip-dialog.h"
#include "generate-dialog.h"

static const struct {
  const char *name;
  void (*query) (void);
  dream_gimp2_run_func run;
} procedures[] = {
  { DREAM_GIMP2_DENOISE_PROC, dream_gimp2_denoise_query, dream_gimp2_denoise_run },
  { DREAM_GIMP2_UPSCALE_PROC, dream_gimp2_upscale_query, dream_gimp2_upscale_run },
  { DREAM_GIMP2_INPAINT_PROC, dream_gimp2_inpaint_query, dream_gimp2_inpaint_run },
  { DREAM_GIMP2_OUTPAINT_PROC, dream_gimp2_outpaint_query, dream_gimp2_inpaint_run },
  { DREAM_GIMP2_CLIP_SCORE_PROC, dream_gimp2_clip_score_query, dream_gimp2_clip_run },
  { DREAM_GIMP2_DESCRIBE_PROC, dream_gimp2_describe_query, dream_gimp2_clip_run },
  { DREAM_GIMP2_TXT2IMG_PROC, dream_gimp2_txt2img_query, dream_gimp2_generate_run },
  { DREAM_GIMP2_IMG2IMG_PROC, dream_gimp2_img2img_query, dream_gimp2_generate_run },
};

static void
query (void)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (procedures); i++)
    procedures[i].query ();
}

static void
run (const gchar      *name,
     gint              nparams,
     const GimpParam  *param,
     gint             *nreturn_vals,
     GimpParam       **return_vals)
{
  static GimpParam values[2];
  static gchar *message = NULL;
  guint i;

  gegl_init (NULL, NULL);
  for (i = 0; i < G_N_ELEMENTS (procedures); i++)
    if (strcmp (name, procedures[i].name) == 0)
      {
        procedures[i].run (name, nparams, param, nreturn_vals, return_vals);
        return;
      }

  g_free (message);
  message = g_strdup_printf ("dreamlayer has no procedure %s", name);
  values[0].type = GIMP_PDB_STATUS;
  values[0].data.d_status = GIMP_PDB_CALLING_ERROR;
  values[1].type = GIMP_PDB_STRING;
  values[1].data.d_string = message;
  *nreturn_vals = 2;
  *return_vals = values;
}

const GimpPlugInInfo PLUG_IN_INFO = { NULL, NULL, query, run };

MAIN ()

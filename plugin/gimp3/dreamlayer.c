/* dreamlayer.c — the GIMP 3 plug-in `dreamlayer`: registration only.
 *
 * Each procedure is built by its area's file (see dream-gimp3.h); this
 * file lists them, so GIMP can query them and create one by name.
 */
#include <string.h>

#include "dream-gimp3.h"

static const struct {
  const char *name;
  GimpProcedure *(*create) (GimpPlugIn *plug_in);
} procedures[] = {
  { "plug-in-dream-denoise", dream_gimp3_denoise_new },
  { "plug-in-dream-upscale", dream_gimp3_upscale_new },
  { "plug-in-dream-inpaint", dream_gimp3_inpaint_new },
  { "plug-in-dream-outpaint", dream_gimp3_outpaint_new },
  { "plug-in-dream-clip-score", dream_gimp3_clip_score_new },
  { "plug-in-dream-describe", dream_gimp3_describe_new },
  { "plug-in-dream-txt2img", dream_gimp3_txt2img_new },
  { "plug-in-dream-img2img", dream_gimp3_img2img_new },
};

typedef struct _Dreamlayer      Dreamlayer;
typedef struct _DreamlayerClass DreamlayerClass;

struct _Dreamlayer
{
  GimpPlugIn parent_instance;
};

struct _DreamlayerClass
{
  GimpPlugInClass parent_class;
};

#define DREAMLAYER_TYPE (dreamlayer_get_type ())

GType dreamlayer_get_type (void) G_GNUC_CONST;

G_DEFINE_TYPE (Dreamlayer, dreamlayer, GIMP_TYPE_PLUG_IN)

GIMP_MAIN (DREAMLAYER_TYPE)

static GList *
dreamlayer_query_procedures (GimpPlugIn *plug_in)
{
  GList *names = NULL;
  guint i;

  (void) plug_in;
  for (i = 0; i < G_N_ELEMENTS (procedures); i++)
    names = g_list_append (names, g_strdup (procedures[i].name));
  return names;
}

static GimpProcedure *
dreamlayer_create_procedure (GimpPlugIn  *plug_in,
                             const gchar *name)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (procedures); i++)
    if (strcmp (name, procedures[i].name) == 0)
      return procedures[i].create (plug_in);
  return NULL;
}

static void
dreamlayer_class_init (DreamlayerClass *klass)
{
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS (klass);

  plug_in_class->query_procedures = dreamlayer_query_procedures;
  plug_in_class->create_procedure = dreamlayer_create_procedure;
  plug_in_class->set_i18n         = NULL;
}

static void
dreamlayer_init (Dreamlayer *self)
{
  (void) self;
}

/* dream.h — the public interface of libdream, Dreamlayer's inference engine.
 *
 * This header is the manual. libdream turns float images (and optional
 * masks) in memory into float images. It knows nothing of GIMP or GTK and
 * depends on GLib, OpenBLAS and libm only.
 *
 * Usage (denoise an RGB image with FFDNet):
 *
 *     GError *err = NULL;
 *     char *path = dream_model_find ("ffdnet-color", &err);
 *     dream_model *model = path ? dream_model_load (path, &err) : NULL;
 *     if (!model) { g_printerr ("%s\n", err->message); ... }
 *
 *     dream_image in  = { pixels, width, height, 3 };  // HWC floats, 0..1
 *     dream_image out = { result, width, height, 3 };  // caller-allocated
 *     dream_denoise_params p = dream_denoise_default_params ();
 *     p.sigma = 25.0;                     // 8-bit levels; < 0 = estimate
 *     p.progress = my_progress;           // return FALSE to cancel
 *     if (!dream_denoise (model, &in, &out, &p, NULL, &err)) ...
 *     dream_model_free (model);
 *
 * Conventions
 *   - Errors: functions that can fail return FALSE (or NULL) and set a
 *     GError in the DREAM_ERROR domain. Nothing in libdream aborts or exits
 *     on bad input: a corrupt model, an odd image size or a cancel is an
 *     error, and the caller's buffers are left as they were unless the call
 *     succeeded (outputs are written only at the end, or the caller is told
 *     they are undefined — see each function).
 *   - Images: dream_image is a borrowed view, never owned by libdream.
 *     Pixels are float, interleaved, row-major: data[(y * width + x) *
 *     channels + c], nominal range 0..1 (values outside are allowed).
 *   - Progress and cancel: long calls take a dream_progress_func. It is
 *     called from the calling thread with a fraction in 0..1 that never
 *     decreases; returning FALSE cancels, and the call then returns FALSE
 *     with DREAM_ERROR_CANCELLED.
 *   - Threads: a model is read-only once loaded and may be shared by calls
 *     on different threads. Each call uses its own worker pool sized by
 *     n_threads (0 = one per core); OpenBLAS is kept single-threaded inside
 *     those workers, so the machine is never oversubscribed.
 *   - Determinism: the same inputs, settings and model give the same output
 *     bits for a given thread count and tile size.
 */
#ifndef DREAM_H
#define DREAM_H

#include <glib.h>

G_BEGIN_DECLS

/* ---- errors ------------------------------------------------------------ */

#define DREAM_ERROR (dream_error_quark ())
GQuark dream_error_quark (void);

typedef enum {
  DREAM_ERROR_INVALID_ARGUMENT, /* a parameter or image the call cannot take */
  DREAM_ERROR_OUT_OF_MEMORY,    /* an allocation failed; nothing was changed */
  DREAM_ERROR_CANCELLED,        /* the progress callback returned FALSE */
  DREAM_ERROR_MODEL,            /* model file corrupt, truncated or of the wrong kind */
  DREAM_ERROR_IO,               /* a file could not be opened, read or written */
} dream_error;

/* ---- progress ---------------------------------------------------------- */

/* Called with a fraction 0..1; return FALSE to cancel the running call. */
typedef gboolean (*dream_progress_func) (gpointer user, double fraction);

/* ---- images ------------------------------------------------------------ */

typedef struct {
  float *data;   /* (height, width, channels), interleaved, not owned */
  int width;
  int height;
  int channels;  /* 1 (grey) or 3 (RGB) for the image tasks */
} dream_image;

/* ---- models ------------------------------------------------------------ */

/* A loaded network: the safetensors file is memory-mapped; weights are
 * packed once into the layout the kernels want. Opaque. */
typedef struct dream_model dream_model;

/* Loads a model file (safetensors with an "architecture" entry in its
 * __metadata__). Returns NULL + DREAM_ERROR_MODEL for files that are
 * corrupt, truncated, or hold a network libdream does not know, and
 * DREAM_ERROR_IO when the file cannot be opened. Free with
 * dream_model_free(). */
dream_model *dream_model_load (const char *path, GError **error);

void dream_model_free (dream_model *model);

/* The architecture name from the file, e.g. "ffdnet". Owned by the model. */
const char *dream_model_get_arch (const dream_model *model);

/* Image channels the network works on natively (ffdnet: 3 or 1). */
int dream_model_get_channels (const dream_model *model);

/* Finds a bundled or installed model by name (e.g. "ffdnet-color",
 * "ffdnet-gray") and returns a newly allocated path to
 * NAME.safetensors. Looks in, in order: $DREAM_MODELS_DIR,
 * $XDG_DATA_HOME/dreamlayer/models, the installed data folder
 * (<prefix>/share/dreamlayer/models), and the source tree's models/
 * folder. NULL + DREAM_ERROR_IO if none has it. */
char *dream_model_find (const char *name, GError **error);

/* ---- model discovery (for menus and defaults) ---------------------------
 *
 *     char **clips = dream_model_list (DREAM_MODEL_KIND_CLIP);
 *     for (char **p = clips; *p; p++) add_menu_item (*p);
 *     g_strfreev (clips);
 *     char *path = dream_clip_model_default (&err);   // what "" means
 */

typedef enum {
  DREAM_MODEL_KIND_UNKNOWN,   /* not a model libdream can run (or garbage) */
  DREAM_MODEL_KIND_CLIP,      /* CLIP with both a text and a vision tower */
  DREAM_MODEL_KIND_SD,        /* Stable Diffusion: a single LDM-layout file
                                 (model.diffusion_model.*, first_stage_model.*,
                                 cond_stage_model.*) or a diffusers folder
                                 (model_index.json) */
  DREAM_MODEL_KIND_DENOISE,   /* FFDNet ("architecture": "ffdnet") */
  DREAM_MODEL_KIND_UPSCALE,   /* super-resolution: srvgg, rdn, rrdb */
  DREAM_MODEL_KIND_ANY,       /* dream_model_list(): every kind above but UNKNOWN */
} dream_model_kind;

/* What a .safetensors file (or a diffusers folder) holds, judged from its
 * header only — the "architecture" metadata entry if there is one, else
 * the tensor names — without reading weights: cheap enough for a menu.
 * A text-only CLIP (an SD text encoder) or a vision-only one is UNKNOWN
 * here, as are SDXL/SD3/Flux files. A file that cannot be opened or is not
 * valid safetensors is UNKNOWN with a GError (error may be NULL). */
dream_model_kind dream_model_classify (const char *path, GError **error);

/* The model files of a kind (DREAM_MODEL_KIND_ANY: all that classify) in
 * the folders dream_model_find() searches, in its order ($DREAM_MODELS_DIR,
 * $XDG_DATA_HOME/dreamlayer/models, installed, source tree), names sorted
 * within a folder, each file once (same file seen through two folders:
 * the first). Paths of *.safetensors files and of diffusers folders (a
 * sub-folder with model_index.json). Unreadable files are skipped. Never
 * NULL: an empty list when there is nothing; free with g_strfreev(). */
char **dream_model_list (dream_model_kind kind);

/* The CLIP model used when the user chose none ("" in the plug-in, no -m
 * in the CLI). Rule: the first CLIP of dream_model_list (DREAM_MODEL_KIND_CLIP)
 * that is not the bundled shapes-clip.safetensors — so a real CLIP the user
 * installed (ViT-B/32, ViT-L/14, OpenCLIP…) wins —, else shapes-clip (the
 * project's small CLIP, trained on drawn shapes only), else NULL +
 * DREAM_ERROR_IO saying where to put a CLIP model. Newly allocated. */
char *dream_clip_model_default (GError **error);

/* The CLIP model for a user's choice: NULL or "" = dream_clip_model_default(),
 * a path (contains '/' or exists) as is, else an installed name for
 * dream_model_find(). Newly allocated, or NULL + DREAM_ERROR_IO. */
char *dream_clip_model_find (const char *choice, GError **error);

/* The same two for Stable Diffusion (Text to Image, Reimagine, Inpaint
 * Generate, `dream generate` without -m): the first SD model of
 * dream_model_list (DREAM_MODEL_KIND_SD) that is not the bundled
 * shapes-sd.safetensors (a real checkpoint or diffusers folder the user
 * installed wins), else shapes-sd (64×64 drawn shapes only), else NULL +
 * DREAM_ERROR_IO. Newly allocated. */
char *dream_sd_model_default (GError **error);
char *dream_sd_model_find (const char *choice, GError **error);

/* ---- denoising --------------------------------------------------------- */

typedef struct {
  double sigma;       /* noise standard deviation in 8-bit levels (0..75);
                         negative: estimate it from the image */
  int n_threads;      /* 0 = one per core */
  int tile;           /* tile edge in pixels (0 = default); memory is
                         bounded by the tile, not by the image */
  dream_progress_func progress;  /* may be NULL */
  gpointer progress_user;
} dream_denoise_params;

dream_denoise_params dream_denoise_default_params (void);

/* Denoises `in` into `out` (same width, height and channels, allocated by
 * the caller; may not alias `in`). A 3-channel model on a 1-channel image
 * works on the grey replicated to RGB; a 1-channel model on RGB works on
 * each channel. On success stores the sigma used (8-bit levels) in
 * *sigma_used if not NULL. On failure `out` is undefined. */
gboolean dream_denoise (const dream_model *model,
                        const dream_image *in,
                        dream_image *out,
                        const dream_denoise_params *params,
                        double *sigma_used,
                        GError **error);

/* Estimates the standard deviation of additive white Gaussian noise in an
 * image, in 8-bit levels (0..255 scale), from its flattest patches.
 * Returns a negative value if the image is too small to tell (under 16×16). */
double dream_noise_estimate (const dream_image *image);

/* ---- upscaling --------------------------------------------------------
 *
 * Super-resolution with SRVGGNetCompact (Real-ESRGAN general v3 "photo",
 * animevideo v3 "anime"), RDN (UpscalerJS esrgan-slim, "fast", ×2/3/4/8)
 * and RRDBNet (Real-ESRGAN x4plus and other ESRGAN checkpoints the user
 * converts with tools/convert_rrdb_pth.py).
 *
 *     char *path = dream_upscale_model_find ("photo", 4.0, &err);
 *     dream_model *m = path ? dream_model_load (path, &err) : NULL;
 *     dream_upscale_params p = dream_upscale_default_params ();
 *     p.scale = 2.5;
 *     int ow = dream_upscale_size (w, p.scale), oh = dream_upscale_size (h, p.scale);
 *     dream_image in = { pixels, w, h, 4 };                   // RGBA
 *     dream_image out = { g_new (float, (gsize) ow * oh * 4), ow, oh, 4 };
 *     if (!dream_upscale (m, &in, &out, &p, &err)) ...
 */

typedef struct {
  double scale;       /* 1..8: output size = dream_upscale_size (input, scale).
                         The network runs at its native factor; other
                         factors are reached by a Lanczos-3 resample. */
  int n_threads;      /* 0 = one per core */
  int tile;           /* input tile edge in pixels (0 = the largest that
                         keeps working memory near 384 MiB); memory is
                         bounded by the tile, not by the image */
  dream_progress_func progress;  /* may be NULL; called once per network
                                    layer of every tile */
  gpointer progress_user;
} dream_upscale_params;

dream_upscale_params dream_upscale_default_params (void);   /* scale 4 */

/* Output edge for an input edge: floor(size * scale + 0.5), at least 1. */
int dream_upscale_size (int size, double scale);

/* The network's native factor (e.g. 4), or 0 if the model is not a
 * super-resolution network. */
int dream_upscale_native_scale (const dream_model *model);

/* The model file for a choice and a factor, newly allocated: "photo"
 * (realesr-general-x4v3), "anime" (realesr-animevideov3-x4), "fast"
 * (rdn-slim-x2/x3/x4/x8: the smallest native factor >= scale), or any
 * other name dream_model_find() knows. NULL + DREAM_ERROR_IO if absent. */
char *dream_upscale_model_find (const char *choice, double scale, GError **error);

/* Upscales `in` into `out` (allocated by the caller: same channels,
 * dream_upscale_size() of each side; may not alias `in`). Channels: 1
 * grey, 2 grey + alpha, 3 RGB, 4 RGBA. Colour goes through the network
 * (grey as replicated RGB, the mean of the outputs kept); alpha is
 * resampled with Lanczos-3. Results are clamped to 0..1. Tiles never
 * show seams: networks with a small receptive field get tiles that equal
 * the untiled result, RRDBNet cross-fades tiles over a wide overlap
 * (within 1/255 of untiled). Thread-safe on a shared model. On failure
 * (bad argument, out of memory, cancel) returns FALSE with a GError and
 * `out` is undefined. */
gboolean dream_upscale (const dream_model *model,
                        const dream_image *in,
                        dream_image *out,
                        const dream_upscale_params *params,
                        GError **error);

/* Receives finished output rows [y, y + n_rows), every column, as
 * (n_rows, width, channels) floats that stay valid during the call only.
 * Return FALSE to cancel. */
typedef gboolean (*dream_upscale_rows_func) (gpointer user, int y, int n_rows,
                                             const float *rows);

/* dream_upscale() without one big output image: the result is handed to
 * `rows` in bands, top to bottom, each row exactly once (width and height
 * are dream_upscale_size() of the input's, channels the input's). Working
 * memory stays bounded by the tile size times the output width, so a
 * plug-in can write each band into its layer as it comes (e.g. 2000² ->
 * 8000² RGBA without a 1 GiB float image). Called from the calling
 * thread. A `rows` returning FALSE cancels: DREAM_ERROR_CANCELLED. */
gboolean dream_upscale_rows (const dream_model *model,
                             const dream_image *in,
                             const dream_upscale_params *params,
                             dream_upscale_rows_func rows,
                             gpointer user,
                             GError **error);

/* ---- CLIP: how well an image matches captions -------------------------- */

/* Usage (rank captions for a layer):
 *
 *     dream_model *clip = dream_clip_load (path, NULL, &err);
 *     const char *captions[] = { "a cat", "a dog", "a red car" };
 *     dream_clip_score_result r[3];
 *     dream_clip_params p = dream_clip_default_params ();
 *     if (!dream_clip_score (clip, &layer, captions, 3, &p, r, &err)) ...
 *     // r[i].cosine, r[i].logit, r[i].probability, r[i].truncated
 *     dream_model_free (clip);
 *
 * To rank several images (variations) against one caption, encode each
 * image and the caption once and compare the embeddings: they are
 * L2-normalised, so their dot product is the cosine similarity.
 *
 * A CLIP model is any safetensors file holding a CLIP ViT text and/or
 * vision tower in the OpenAI / OpenCLIP layout (transformer.resblocks...,
 * visual....) or the Hugging Face layout (text_model..., vision_model...),
 * F32, F16 or BF16, with or without metadata. Sizes come from the
 * tensors; head counts and the activation from the file's metadata or a
 * NAME.json next to NAME.safetensors (see engine/models/clip.h), else the
 * OpenAI rules. The tokenizer is the bundled CLIP BPE vocabulary.
 * Captions are cut to 77 tokens (the context of every CLIP model);
 * results say which were cut. */

/* Loads a CLIP model (arch "clip"); config_path (JSON, may be NULL)
 * overrides the file's own hints. NULL + DREAM_ERROR_MODEL if the file
 * holds no CLIP tower, DREAM_ERROR_IO if it cannot be read. Free with
 * dream_model_free(). dream_model_load() also loads files whose metadata
 * says "architecture": "clip". */
dream_model *dream_clip_load (const char *path, const char *config_path,
                              GError **error);

typedef struct {
  int n_threads;      /* 0 = one per core */
  int batch;          /* captions per forward pass (0 = 32); bounds memory */
  dream_progress_func progress;  /* may be NULL */
  gpointer progress_user;
} dream_clip_params;

dream_clip_params dream_clip_default_params (void);

/* Width of the joint embedding (e.g. 512 for ViT-B/32), or 0. */
int dream_clip_get_embed_dim (const dream_model *clip);
/* Input edge of the vision tower (e.g. 224), 0 without one. */
int dream_clip_get_image_size (const dream_model *clip);
/* exp (logit_scale): the factor from cosine to logit (100 for OpenAI). */
double dream_clip_get_logit_scale (const dream_model *clip);
gboolean dream_clip_has_text (const dream_model *clip);
gboolean dream_clip_has_vision (const dream_model *clip);

/* n captions -> embeddings (n, embed_dim), L2-normalised, caller-allocated;
 * truncated (n, may be NULL) tells which captions were cut to 77 tokens.
 * FALSE + DREAM_ERROR_INVALID_ARGUMENT without a text tower or captions,
 * DREAM_ERROR_CANCELLED when the progress callback says so. */
gboolean dream_clip_encode_text (const dream_model *clip,
                                 const char *const *captions, int n,
                                 const dream_clip_params *params,
                                 float *embeddings, gboolean *truncated,
                                 GError **error);

/* An image (1 or 3 channels; a 2nd/4th alpha channel is ignored) ->
 * embedding (embed_dim), L2-normalised. Preprocessed as the original:
 * shortest side resized to the tower's input with Pillow's bicubic
 * filter, centre crop, CLIP's mean and std; so only the centre square of
 * a long image is seen. */
gboolean dream_clip_encode_image (const dream_model *clip,
                                  const dream_image *image,
                                  const dream_clip_params *params,
                                  float *embedding, GError **error);

typedef struct {
  float cosine;        /* cosine similarity of image and caption, −1..1 */
  float logit;         /* logit_scale · cosine (CLIP's logits_per_image) */
  float probability;   /* softmax of the logits over the captions given */
  gboolean truncated;  /* the caption was cut to 77 tokens */
} dream_clip_score_result;

/* Scores n captions against one image; results (n) caller-allocated, in
 * the captions' order. */
gboolean dream_clip_score (const dream_model *clip, const dream_image *image,
                           const char *const *captions, int n,
                           const dream_clip_params *params,
                           dream_clip_score_result *results, GError **error);

/* ---- describing an image with CLIP ------------------------------------
 *
 *     dream_clip_description *d =
 *       dream_clip_describe (clip, &layer, NULL, &p, &err);  // bundled words
 *     if (d) puts (d->caption);   // "a photograph of a red car, warm light"
 *     dream_clip_description_free (d);
 *
 * A vocabulary is a JSON file (read with json-glib):
 *
 *     { "categories": [
 *         { "name": "medium", "format": "{} of ", "entries": ["a photograph", ...] },
 *         { "name": "subject", "format": "{}", "always": true, "entries": [...] },
 *         { "name": "setting", "format": " {}", "entries": ["on grass", ...] },
 *         { "name": "lighting", "format": ", {}", "prompt": "a photo with {}",
 *           "entries": ["warm light", ...] }, ... ] }
 *
 * Each category's entries are scored against the image (the text scored
 * is "prompt" with {} replaced by the entry; default "{}"), and ranked by
 * cosine. Rule: a category is kept when its best entry is clearly above
 * the rest — its softmax probability over the category (CLIP's logit
 * scale) is at least 3 / n (three times a uniform guess among its n
 * entries), or the category says "always": true; a category of one entry
 * is kept only when "always". The caption is the kept categories' "format"
 * strings (each {} replaced by the best entry) joined in file order,
 * "a photograph of a red car on grass, warm light, vivid colours" — a
 * prompt the user can edit. The bundled vocabulary,
 * describe-vocabulary.json, lives with the models (found as
 * dream_model_find() finds models) and holds a few hundred general
 * entries plus every word the bundled shapes-clip knows. */

typedef struct {
  char *name;            /* e.g. "subject" */
  int n;                 /* entries */
  char **entries;        /* (n) ranked best first */
  float *cosines;        /* (n) cosine of image and prompt, same order */
  float *probabilities;  /* (n) softmax over the category, same order */
  gboolean kept;         /* its best entry is in the caption */
} dream_clip_category;

typedef struct {
  char *caption;                    /* the composed prompt */
  int n_categories;
  dream_clip_category *categories;  /* (n_categories) in the file's order */
} dream_clip_description;

/* Describes an image: the model needs both towers (else FALSE +
 * DREAM_ERROR_INVALID_ARGUMENT); vocabulary_path NULL = the bundled one.
 * A vocabulary that cannot be read is DREAM_ERROR_IO; one that is not
 * such JSON, has no categories, an empty category or an empty entry is
 * DREAM_ERROR_INVALID_ARGUMENT naming the file and the problem. All the
 * entries' texts are encoded in one batched call per describe (progress:
 * the image first, then the texts). Free the result with
 * dream_clip_description_free(). Thread-safe on a shared model. */
dream_clip_description *dream_clip_describe (const dream_model *clip,
                                             const dream_image *image,
                                             const char *vocabulary_path,
                                             const dream_clip_params *params,
                                             GError **error);

void dream_clip_description_free (dream_clip_description *description);

/* ---- content-aware fill and canvas extension ---------------------------
 *
 * Content-aware fill removes what a mask covers and rebuilds it from the
 * rest of the image, so texture and structure continue across the mask's
 * edge (multi-scale PatchMatch with coherent voting: Wexler et al. 2007,
 * Barnes et al. 2009). It needs no model. Canvas extension (outpainting)
 * grows the canvas and returns the mask of the new area, to be filled by
 * dream_fill() (or by diffusion with a prompt, see the SD section).
 *
 *     dream_image img  = { pixels, w, h, 3 };          // or 1..4 channels
 *     dream_image mask = { sel, w, h, 1 };             // 1 = fill, 0 = keep
 *     dream_image out  = { g_new (float, (gsize) w * h * 3), w, h, 3 };
 *     dream_fill_params p = dream_fill_default_params ();
 *     p.context = 0;                                   // sample everywhere
 *     if (!dream_fill (&img, &mask, &out, &p, &err)) ...
 *
 *     // outpainting: 256 px more on the right, then fill
 *     dream_image big, bigmask;
 *     if (!dream_canvas_extend (&img, 0, 256, 0, 0, 16, &big, &bigmask, &err)) ...
 *     dream_image res = { g_new (float, (gsize) big.width * big.height * 3),
 *                         big.width, big.height, 3 };
 *     if (!dream_fill (&big, &bigmask, &res, &p, &err)) ...
 *     g_free (big.data); g_free (bigmask.data);
 */

typedef struct {
  int context;        /* where patches are sampled from: pixels within this
                         distance of the hole's bounding box (0 = the whole
                         image). Memory and time are bounded by the hole's
                         bounding box grown by `context`, not by the image:
                         about 100 bytes per pixel of that crop (2 MP with
                         a 20% hole: ~190 MB peak, a few seconds of CPU). */
  guint64 seed;       /* PatchMatch's random initialisation; the same seed
                         and settings give the same pixels, whatever the
                         thread count */
  int patch;          /* patch edge in pixels, odd, 3..15 (0 = default 9) */
  int n_threads;      /* 0 = one per core */
  dream_progress_func progress;  /* may be NULL */
  gpointer progress_user;
} dream_fill_params;

/* context 0 (whole image), seed 0, patch 0 (= 9), n_threads 0. */
dream_fill_params dream_fill_default_params (void);

/* Fills the masked part of `image` into `out` (caller-allocated, same
 * width, height and channels; `out` may be `image` itself to fill in
 * place). Thread-safe: calls share nothing.
 *   image: 1..4 channels; with 2 or 4 channels the last is alpha and is
 *          filled like the colours.
 *   mask:  1 channel, same width and height; 1 = fill, 0 = keep, values
 *          between are a feather: out = m·filled + (1 − m)·image, so where
 *          the mask is 0 `out` equals `image` bit for bit. Pixels with
 *          m > 0 are rebuilt (and blended by m); only m == 0 is context.
 * Errors (FALSE, `out` untouched): DREAM_ERROR_INVALID_ARGUMENT for an
 * empty mask ("nothing to fill"), a mask covering everything or leaving
 * too little to sample from within `context`, size or channel mismatch,
 * bad parameters; DREAM_ERROR_OUT_OF_MEMORY; DREAM_ERROR_CANCELLED. */
gboolean dream_fill (const dream_image *image, const dream_image *mask,
                     dream_image *out, const dream_fill_params *params,
                     GError **error);

/* Outpainting helper: `image` on a canvas grown by left/right/top/bottom
 * pixels (each 0..65536, the result at most 65536 per side). New pixels
 * get mask 1 and are set to the nearest edge pixel of the old image (a
 * neutral start for diffusion; dream_fill() rebuilds them anyway); old
 * pixels get mask 0, except a band `feather` pixels wide along the new
 * sides where the mask ramps from 1 at the old edge down to 0, so the
 * fill blends into the old image without a seam (feather 0 = hard edge).
 * out_image (channels as `image`) and out_mask (1 channel) are allocated
 * by the call: g_free() their data. On failure nothing is allocated. */
gboolean dream_canvas_extend (const dream_image *image,
                              int left, int right, int top, int bottom,
                              int feather,
                              dream_image *out_image, dream_image *out_mask,
                              GError **error);

/* Where the old picture sits on a canvas grown to a target size or
 * aspect (GIMP's Canvas Size offset, as a 3×3 choice). With CENTER the
 * new pixels are shared between the two sides (an odd one goes right or
 * bottom); with LEFT they all go on the right, and so on. */
typedef enum {
  DREAM_ANCHOR_CENTER = 0,
  DREAM_ANCHOR_TOP_LEFT,
  DREAM_ANCHOR_TOP,
  DREAM_ANCHOR_TOP_RIGHT,
  DREAM_ANCHOR_LEFT,
  DREAM_ANCHOR_RIGHT,
  DREAM_ANCHOR_BOTTOM_LEFT,
  DREAM_ANCHOR_BOTTOM,
  DREAM_ANCHOR_BOTTOM_RIGHT
} dream_anchor;

/* "center" (or "centre"), "top-left", "top", "top-right", "left",
 * "right", "bottom-left", "bottom", "bottom-right" (ASCII case ignored;
 * NULL or "" = center). FALSE + DREAM_ERROR_INVALID_ARGUMENT naming the
 * accepted words for anything else. */
gboolean dream_anchor_from_string (const char *name, dream_anchor *anchor,
                                   GError **error);

/* The canonical name above ("center", "top-left", …); NULL if invalid. */
const char *dream_anchor_to_string (dream_anchor anchor);

/* Extend Canvas to a size instead of by margins: the left/right/top/
 * bottom margins that grow a width × height canvas to
 *   - target_width × target_height (0 = keep that side as it is), or
 *   - the aspect ratio `aspect`, "A:B" (e.g. "16:9", "2.39:1"; A and B
 *     positive, at most 3 decimals), growing ONE side the least needed:
 *     a canvas wider than A:B gets taller, a narrower one gets wider. The
 *     grown side is rounded UP to whole pixels, so the result is never
 *     short of the ratio (300×200 to 16:9: 200·16/9 = 355.6 → 356×200).
 * Give a size or an aspect, not both (aspect NULL or "" = not used). The
 * canvas never shrinks. The new pixels are placed around the old picture
 * as `anchor` says. The results are ready for dream_canvas_extend();
 * every caller (the CLI and both GIMP plug-ins) goes through this one
 * function so they agree on the rounding and the errors.
 * Errors (DREAM_ERROR_INVALID_ARGUMENT, outputs untouched): neither or
 * both of size and aspect, a negative target, a target smaller than the
 * canvas, a malformed or zero aspect ("16:0", "abc", "-4:3"), a result
 * over 65536 pixels a side (dream_canvas_extend's limit), and a canvas
 * that is already the size or ratio asked for (nothing to add). */
gboolean dream_canvas_margins (int width, int height,
                               int target_width, int target_height,
                               const char *aspect, dream_anchor anchor,
                               int *left, int *right, int *top, int *bottom,
                               GError **error);

/* ---- Stable Diffusion: text to image, image to image, inpainting -------
 *
 * Usage (text to image, then a variation of the result):
 *
 *     dream_model *sd = dream_sd_load ("v1-5-pruned-emaonly.safetensors", NULL, &err);
 *     if (!sd) { g_printerr ("%s\n", err->message); ... }
 *     dream_generate_params p = dream_generate_default_params (sd);
 *     p.prompt = "a lighthouse at dusk, oil painting";
 *     p.negative_prompt = "blurry";
 *     p.seed = 1234;                      // the caller picks (and shows) it
 *     p.progress = my_progress;           // called per UNet run; FALSE cancels
 *     int w = dream_sd_get_native_size (sd), h = w;
 *     dream_image out = { g_new (float, (gsize) w * h * 3), w, h, 3 };
 *     gboolean cut;
 *     if (!dream_generate (sd, &p, &out, &cut, &err)) ...   // out undefined
 *
 *     p.init = &out_copy; p.strength = 0.6;               // img2img
 *     dream_generate (sd, &p, &out2, NULL, &err);
 *
 *     p.init = &photo; p.mask = &selection; p.strength = 1.0;   // inpaint
 *     dream_image res = { g_new (float, ...), photo.width, photo.height, 3 };
 *     dream_inpaint (sd, &p, &res, &err);
 *     dream_model_free (sd);
 *
 * Models: SD 1.x, SD 2.x (ε and v-prediction), SD-Turbo and their
 * inpainting variants (9-channel UNet), F32/F16/BF16. Weights stay in the
 * file's mapping in their own type and are widened one layer at a time;
 * attention is computed in slices, the text encoder's and UNet's pages
 * are given back before the VAE runs, and the VAE decodes in tiles above
 * the native size: SD 1.5 (F16 file) at 512×512 peaks at 2.0 GB resident.
 *
 * Determinism: the starting noise (and the per-step noise of the
 * ancestral samplers) comes from the seed through a counter-based
 * generator (Philox4x32-10 + Box–Muller, see engine/tasks/generate.c) that
 * does not depend on the machine or the thread count: the same model,
 * seed and settings give the same latent everywhere and the same pixels
 * for a given thread count (to float rounding across thread counts).
 * Several images: call once per image with seed, seed + 1, ...
 *
 * Threads: a loaded SD model is read-only and may be shared by calls on
 * different threads; each call has its own work buffers (≈ 1 GB at 512²).
 */

/* Loads a Stable Diffusion checkpoint: a single .safetensors (original LDM
 * layout: model.diffusion_model.*, first_stage_model.*, cond_stage_model.*
 * — or the text encoder in the Hugging Face layout) or a diffusers folder.
 * config_path (LDM .yaml or diffusers config.json) may be NULL: then
 * NAME.yaml next to the file, the file's metadata, or detection from the
 * tensors. SDXL / SD3 / Flux / other networks -> NULL + DREAM_ERROR_MODEL
 * naming what the file is; unreadable -> DREAM_ERROR_IO. Free with
 * dream_model_free(). dream_model_get_arch() says "stable-diffusion". */
dream_model *dream_sd_load (const char *path, const char *config_path, GError **error);

/* What was loaded, for people: "SD 1.x", "SD 2.x", "SD 2.x (v-prediction)",
 * "SD-Turbo", "SD 1.x inpainting", ... (io/sd_checkpoint.h's words).
 * Owned by the model; NULL if `sd` is not a Stable Diffusion model. */
const char *dream_sd_get_kind (const dream_model *sd);

/* The edge the model was trained at: 512, 768, or smaller for the bundled
 * test models (e.g. 64); 0 if not an SD model. */
int dream_sd_get_native_size (const dream_model *sd);

/* TRUE for a 9-input-channel inpainting UNet. */
gboolean dream_sd_is_inpainting (const dream_model *sd);

typedef enum {
  DREAM_SAMPLER_EULER,              /* k-diffusion Euler, discrete sigmas */
  DREAM_SAMPLER_EULER_A,            /* Euler ancestral (η = 1) */
  DREAM_SAMPLER_DDIM,               /* DDIM (η = 0), LDM's uniform timesteps */
  DREAM_SAMPLER_DPMPP_2M_KARRAS,    /* DPM++ 2M on Karras sigmas (ρ = 7) */
  DREAM_SAMPLER_LCM,                /* LCM; on SD-Turbo with its t = 999, 899, ... */
} dream_sampler_kind;

/* "euler", "euler-a", "ddim", "dpmpp-2m-karras", "lcm"; NULL if out of range. */
const char *dream_sampler_name (dream_sampler_kind kind);
/* The reverse (also accepts "euler_a", "dpmpp-2m", "turbo" as aliases);
 * FALSE for unknown names. */
gboolean dream_sampler_from_name (const char *name, dream_sampler_kind *kind);

typedef struct {
  const char *prompt;           /* UTF-8 (invalid -> INVALID_ARGUMENT); NULL = "" */
  const char *negative_prompt;  /* the unconditional context; NULL = "" */
  int width, height;            /* output size, multiples of 8, 8..4096 (0 = native
                                   size; with init: the init's size). SD's UNet
                                   wants multiples of 64: other sizes are generated
                                   on the next multiple of 64 (edges of init and
                                   mask replicated) and cropped */
  guint64 seed;                 /* same seed -> same pixels */
  int steps;                    /* 1..1000 */
  double cfg_scale;             /* 0..100; 1 = no unconditional pass */
  dream_sampler_kind sampler;
  const dream_image *init;      /* img2img / inpaint start image (3 channels, or 4:
                                   alpha ignored), or NULL = text to image */
  double strength;              /* img2img: 0..1, how much of the schedule is re-run
                                   (0 = the init back through the VAE, 1 = from noise);
                                   the last ⌊steps·strength⌋ steps run. Inpainting
                                   with an ordinary model: the same (at least one
                                   step; use 1 to repaint fully); a 9-channel
                                   inpainting UNet always starts from noise */
  const dream_image *mask;      /* 1 channel, init's size: 1 = regenerate, 0 = keep,
                                   between = feathered; or NULL */
  int n_threads;                /* 0 = one per core */
  dream_progress_func progress; /* may be NULL; fraction per UNet evaluation */
  gpointer progress_user;
} dream_generate_params;

/* Settings suited to the model: SD-Turbo 1 step, cfg 1, LCM; others 20
 * steps, cfg 7.5, Euler a; width = height = 0 (native), strength 0.75,
 * seed 0, no prompt. */
dream_generate_params dream_generate_default_params (const dream_model *sd);

/* Text to image (init NULL), image to image (init set, strength), or
 * inpainting in place (init + mask at the working size: the known region
 * is held to the noised init at every step with an ordinary model, or fed
 * to a 9-channel UNet). `out` is caller-allocated, width × height × 3
 * (width/height as resolved above; out->width/height must match them).
 * *prompt_truncated (may be NULL) is set when a prompt was cut to 77
 * tokens. Errors: INVALID_ARGUMENT (sizes, steps, UTF-8, mask size),
 * OUT_OF_MEMORY, CANCELLED (within one UNet evaluation of the request);
 * on any failure `out` is undefined and the caller should write nothing.
 * Thread-safe on a shared model. Output pixels are clamped to 0..1. */
gboolean dream_generate (const dream_model *sd, const dream_generate_params *p,
                         dream_image *out, gboolean *prompt_truncated, GError **error);

/* Inpainting of a region of an image of any size: the mask's bounding box
 * plus a margin of context is cropped, scaled to the model's working size,
 * generated as dream_generate() does with init + mask, scaled back and
 * blended with the mask. out: same size as p->init, 3 channels. Where the
 * mask is 0 the output equals the input exactly; an empty mask returns the
 * input. p->mask is required; p->width/height are ignored. Errors and
 * cancel as dream_generate(). */
gboolean dream_inpaint (const dream_model *sd, const dream_generate_params *p,
                        dream_image *out, GError **error);

G_END_DECLS

#endif /* DREAM_H */

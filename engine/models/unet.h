/* unet.h — the Stable Diffusion UNet (LDM openaimodel.UNetModel with
 * SpatialTransformers), SD 1.x, 2.x, SD-Turbo and 9-channel inpainting.
 *
 *   t (B)            → sinusoidal (B, mc) → Linear, SiLU, Linear → emb (B, 4mc)
 *   x (B, h, w, cin) → input_blocks: conv 3×3, then per level
 *                      [ResBlock (+ SpatialTransformer)] × n, Downsample
 *                    → middle_block: ResBlock, SpatialTransformer, ResBlock
 *                    → output_blocks: per level, concat the matching input
 *                      block's output, [ResBlock (+ SpatialTransformer)]
 *                      × (n+1), Upsample
 *                    → out: GroupNorm, SiLU, conv 3×3 → (B, h, w, cout)
 *
 *   ResBlock(x, emb):  h = conv3(SiLU(GN(x))) + Linear(SiLU(emb));
 *                      h = conv3(SiLU(GN(h))); return skip(x) + h
 *   SpatialTransformer(x, ctx): t = proj_in(GN(x)) as (h·w, inner) tokens,
 *                      per block: t += attn1(LN t); t += attn2(LN t, ctx);
 *                      t += W2 GEGLU(W1 LN t); return x + proj_out(t)
 *
 * Everything is read from the checkpoint's own tensor names, in the
 * original single-file layout, with or without the "model.diffusion_model."
 * prefix: which module sits where, channel counts, levels, blocks per
 * level, transformer depth, context width, 4 or 9 input channels, conv
 * (SD1) or linear (SD2) projections. Heads come from dream_ldm_config
 * (see ldm_config.h). Weights stay in the mapping in their own dtype
 * (F32, F16, BF16): a layer at a time, its weight is widened to F32 (conv
 * weights also reordered, see unet_ops.h) into one layer-sized buffer;
 * F32 Linear weights are used from the mapping as they are.
 *
 * Feature maps are HWC per image, images stacked: x[((b·h + y)·w + xx)·c + ch].
 * A dream_unet is read-only once loaded; run-state is per call.
 */
#ifndef DREAM_UNET_H
#define DREAM_UNET_H

#include "core/core.h"
#include "io/ldm_config.h"
#include "io/safetensors.h"
#include "models/sd_common.h"

typedef struct {
  int in_ch, out_ch;
  dream_wb norm1;   /* in_layers.0: GroupNorm(32) (in_ch) */
  dream_wb conv1;   /* in_layers.2: (out_ch, in_ch, 3, 3), (out_ch) */
  dream_wb emb;     /* emb_layers.1: (out_ch, emb_dim), (out_ch) */
  dream_wb norm2;   /* out_layers.0: GroupNorm(32) (out_ch) */
  dream_wb conv2;   /* out_layers.3: (out_ch, out_ch, 3, 3), (out_ch) */
  dream_wb skip;    /* skip_connection: (out_ch, in_ch, 1, 1); .w NULL if in_ch == out_ch */
} dream_unet_res;

typedef struct {
  dream_wb norm1, norm2, norm3;   /* LayerNorm (inner), eps 1e-5 */
  dream_wb q1, k1, v1;            /* attn1.to_{q,k,v}: (inner, inner), no bias */
  dream_wb o1;                    /* attn1.to_out.0: (inner, inner), (inner) */
  dream_wb q2;                    /* attn2.to_q: (inner, inner) */
  dream_wb k2, v2;                /* attn2.to_{k,v}: (inner, context_dim) */
  dream_wb o2;                    /* attn2.to_out.0: (inner, inner), (inner) */
  dream_wb ff1;                   /* ff.net.0.proj: (8·inner, inner), (8·inner) — GEGLU */
  dream_wb ff2;                   /* ff.net.2: (inner, 4·inner), (inner) */
} dream_unet_tblock;

typedef struct {
  int channels;        /* c of the feature map */
  int inner;           /* heads · d_head (= c in every SD model) */
  int heads, d_head;
  int depth;           /* transformer blocks */
  int ff;              /* feed-forward width (4·inner) */
  gboolean linear;     /* proj_in/out are Linear (SD2) rather than 1×1 convs (SD1) */
  dream_wb norm;       /* GroupNorm(32) (c), eps 1e-6 */
  dream_wb proj_in;    /* (inner, c) or (inner, c, 1, 1), (inner) */
  dream_wb proj_out;   /* (c, inner) or (c, inner, 1, 1), (c) */
  dream_unet_tblock *blocks;  /* (depth) */
} dream_unet_xf;

typedef enum {
  DREAM_UNET_CONV,     /* input_blocks.0.0: conv 3×3 */
  DREAM_UNET_RES,      /* ResBlock */
  DREAM_UNET_XF,       /* SpatialTransformer */
  DREAM_UNET_DOWN,     /* Downsample: conv 3×3 stride 2 pad 1 ("op") */
  DREAM_UNET_UP,       /* Upsample: nearest ×2, conv 3×3 ("conv") */
} dream_unet_kind;

typedef struct {
  dream_unet_kind kind;
  int in_ch, out_ch;
  dream_wb conv;       /* CONV, DOWN, UP: (out_ch, in_ch, 3, 3), (out_ch) */
  dream_unet_res res;
  dream_unet_xf xf;
} dream_unet_layer;

typedef struct {
  int n_layers;
  dream_unet_layer *layers;   /* (n_layers), run in order */
  int in_ch, out_ch;          /* in_ch includes the skip concat on output blocks */
  int scale_in, scale_out;    /* downsampling factor of the block's input/output */
} dream_unet_block;

typedef struct {
  int in_channels;         /* 4, or 9 for inpainting models */
  int out_channels;        /* 4 */
  int model_channels;      /* mc: 320 in SD */
  int emb_dim;             /* 4·mc */
  int context_dim;         /* 768 (SD1), 1024 (SD2) */
  int down;                /* total downsampling: h and w must be multiples */
  gboolean sd2_style;      /* linear projections */
  dream_wb time1;          /* time_embed.0: (emb_dim, mc), (emb_dim) */
  dream_wb time2;          /* time_embed.2: (emb_dim, emb_dim), (emb_dim) */
  int n_input, n_output;
  dream_unet_block *input;    /* (n_input) input_blocks */
  dream_unet_block middle;    /* middle_block */
  dream_unet_block *output;   /* (n_output) output_blocks */
  dream_wb out_norm;       /* out.0: GroupNorm(32) (mc) */
  dream_wb out_conv;       /* out.2: (out_channels, mc, 3, 3), (out_channels) */
  size_t max_weight;       /* largest weight tensor, in elements */
  size_t max_vec;          /* largest 1-D tensor (bias, norm), in elements */
  char *prefix;            /* "model.diffusion_model." or "" */
} dream_unet;

/* Builds the network from a validated file (weights stay in the file's
 * mapping: keep it open while the net is used). config may be NULL (all
 * defaults). NULL + DREAM_ERROR_MODEL naming the tensor when something is
 * missing or has the wrong shape, or the heads do not divide the width. */
dream_unet *dream_unet_load (const dream_st_file *file,
                             const dream_ldm_config *config, GError **error);
void dream_unet_free (void *net);

/* TRUE if the file holds UNet weights (either layout). */
gboolean dream_unet_detect (const dream_st_file *file);

/* Work space for forward passes at one batch size, latent size and
 * context length: every activation comes from here, sized up front by a
 * dry run of the network (see sd_common.h). */
typedef struct {
  int batch, h, w, n_ctx;
  dream_sd_work work;      /* maps, per-layer temporaries, weight buffers, scratch */
  float *skips;            /* outputs of all input blocks, kept for the concats */
  size_t *skip_off;        /* (n_input) where each one starts in skips */
  size_t skip_floats;
  void (*probe) (gpointer, const char *, const float *, int, int, int, int);
  gpointer probe_user;
} dream_unet_state;

gboolean dream_unet_state_init (dream_unet_state *s, const dream_unet *net,
                                int batch, int h, int w, int n_ctx,
                                int n_threads, GError **error);
void dream_unet_state_clear (dream_unet_state *s);

/* Bytes of activation memory a state of this size takes. */
size_t dream_unet_state_bytes (const dream_unet_state *s);

/* out (B, h, w, out_ch) = UNet(x (B, h, w, in_ch), t (B), context (B,
 * n_ctx, context_dim)); B, h, w, n_ctx as given to the state. Timesteps
 * may be fractional (Karras sigmas). Reports `work` progress units in
 * all, one step per top-level block; FALSE + DREAM_ERROR_CANCELLED if
 * the user cancels. */
gboolean dream_unet_forward (const dream_unet *net, dream_unet_state *s,
                             const float *x, const float *t,
                             const float *context, float *out,
                             dream_pool *pool, dream_progress *progress,
                             double work, GError **error);

/* Number of top-level blocks (progress steps of one forward). */
int dream_unet_n_blocks (const dream_unet *net);

/* Optional probe called after the time embedding and after every
 * top-level block with its output (B, h, w, c) — for tests that compare
 * intermediate results. name is e.g. "input_blocks.3", "middle_block". */
typedef void (*dream_unet_probe) (gpointer user, const char *name,
                                  const float *data, int batch, int h, int w,
                                  int c);
void dream_unet_state_set_probe (dream_unet_state *s, dream_unet_probe probe,
                                 gpointer user);

#endif /* DREAM_UNET_H */

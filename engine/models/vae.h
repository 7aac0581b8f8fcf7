/* vae.h — the Stable Diffusion autoencoder (LDM AutoencoderKL): encoder
 * image → latent distribution, decoder latent → image.
 *
 *   encode: x (B, H, W, 3) → conv_in → per level [ResnetBlock (+ AttnBlock)]
 *           × n, Downsample (not after the last) → mid: ResnetBlock,
 *           AttnBlock, ResnetBlock → GN, SiLU, conv_out (2z) → quant_conv
 *           → moments (B, H/f, W/f, 2·embed) = [mean | logvar]
 *   decode: z (B, h, w, embed) → post_quant_conv → conv_in → mid → per
 *           level, deepest first, [ResnetBlock (+ AttnBlock)] × (n+1),
 *           Upsample (not after the last) → GN, SiLU, conv_out
 *           → (B, f·h, f·w, 3)
 *
 *   ResnetBlock: h = conv₂ SiLU GN(conv₁ SiLU GN(x)); x' = shortcut(x); x' + h
 *   AttnBlock:   single head over all pixels, q, k, v, proj_out 1×1
 *   Downsample:  zero pad one row/column bottom/right, conv 3×3 stride 2
 *   Upsample:    nearest ×2, conv 3×3
 *   GroupNorm(32 groups, eps 1e-6) everywhere.
 *
 * Read from the checkpoint's own tensor names (first_stage_model.* or
 * without prefix); levels, blocks per level, attention levels, channels
 * and z/embed sizes come from the shapes. Weights stay in the mapping
 * (any float dtype) and are widened (convs: reordered) one layer at a
 * time into one layer-sized buffer. The latent
 * scale factor (0.18215) is the sampler's business, not the VAE's.
 *
 * Feature maps are HWC per image, images stacked. A dream_vae is
 * read-only once loaded; run-state is per call.
 */
#ifndef DREAM_VAE_H
#define DREAM_VAE_H

#include "core/core.h"
#include "io/safetensors.h"
#include "models/sd_common.h"
#include "tile/tile.h"

typedef struct {
  int in_ch, out_ch;
  dream_wb norm1;      /* GroupNorm (in_ch) */
  dream_wb conv1;      /* (out_ch, in_ch, 3, 3), (out_ch) */
  dream_wb norm2;      /* GroupNorm (out_ch) */
  dream_wb conv2;      /* (out_ch, out_ch, 3, 3), (out_ch) */
  dream_wb shortcut;   /* nin_shortcut (out_ch, in_ch, 1, 1) or conv_shortcut
                          (out_ch, in_ch, 3, 3); .w NULL when in_ch == out_ch */
  gboolean conv_shortcut;
} dream_vae_res;

typedef struct {
  int ch;
  dream_wb norm;       /* GroupNorm (ch) */
  dream_wb q, k, v;    /* (ch, ch, 1, 1) [or (ch, ch)], (ch) */
  dream_wb proj_out;   /* (ch, ch, 1, 1) [or (ch, ch)], (ch) */
} dream_vae_attn;

typedef struct {
  int n_blocks;
  dream_vae_res *res;      /* (n_blocks) */
  dream_vae_attn *attn;    /* (n_blocks) or NULL: attention after each block */
  dream_wb resample;       /* downsample.conv / upsample.conv (ch, ch, 3, 3); .w NULL if none */
} dream_vae_level;

typedef struct {
  int in_ch, out_ch;       /* encoder: image channels → 2z; decoder: z → image channels */
  dream_wb conv_in;        /* (ch0, in_ch, 3, 3) */
  int n_levels;
  dream_vae_level *levels; /* (n_levels) as stored: down.{i} / up.{i} */
  dream_vae_res mid1, mid2;
  dream_vae_attn mid_attn;
  dream_wb norm_out;       /* GroupNorm (ch_last) */
  dream_wb conv_out;       /* (out_ch, ch_last, 3, 3) */
} dream_vae_coder;

typedef struct {
  gboolean has_encoder, has_decoder;
  int image_channels;      /* 3 */
  int z_channels;          /* 4: the decoder's conv_in input */
  int embed_dim;           /* 4: the latent; moments are 2·embed_dim */
  int factor;              /* image side / latent side: 8 in SD */
  dream_vae_coder enc, dec;
  dream_wb quant_conv;     /* (2·embed, 2·z, 1, 1) */
  dream_wb post_quant_conv;/* (z, embed, 1, 1) */
  size_t max_weight, max_vec;
  char *prefix;            /* "first_stage_model." or "" */
} dream_vae;

/* Builds encoder and/or decoder, whichever the file holds (at least one).
 * Weights stay in the file's mapping. NULL + DREAM_ERROR_MODEL naming the
 * tensor when something is missing or misshapen. */
dream_vae *dream_vae_load (const dream_st_file *file, GError **error);
void dream_vae_free (void *net);
gboolean dream_vae_detect (const dream_st_file *file);

typedef enum {
  DREAM_VAE_ENCODE,
  DREAM_VAE_DECODE,
} dream_vae_direction;

/* Work space for one direction at one batch and size: h, w are the
 * latent sides (the image is factor·h × factor·w). */
typedef struct {
  dream_vae_direction dir;
  int batch, h, w;
  dream_sd_work work;
  void (*probe) (gpointer, const char *, const float *, int, int, int, int);
  gpointer probe_user;
} dream_vae_state;

gboolean dream_vae_state_init (dream_vae_state *s, const dream_vae *vae,
                               dream_vae_direction dir, int batch, int h, int w,
                               int n_threads, GError **error);
void dream_vae_state_clear (dream_vae_state *s);
size_t dream_vae_state_bytes (const dream_vae_state *s);

/* image (B, f·h, f·w, image_channels) → mean, logvar (B, h, w, embed);
 * logvar clamped to [−30, 20] as AutoencoderKL does; either output may
 * be NULL. moments (B, h, w, 2·embed) too if not NULL (unclamped). */
gboolean dream_vae_encode (const dream_vae *vae, dream_vae_state *s,
                           const float *image, float *mean, float *logvar,
                           float *moments, dream_pool *pool,
                           dream_progress *progress, double work, GError **error);

/* z (B, h, w, embed) → image (B, f·h, f·w, image_channels), unclamped
 * (nominally −1..1). */
gboolean dream_vae_decode (const dream_vae *vae, dream_vae_state *s,
                           const float *z, float *image, dream_pool *pool,
                           dream_progress *progress, double work, GError **error);

/* The decoder in tiles, for images whose full decode would not fit in
 * memory: the latent (B, h, w, embed) is cut into tiles of at most
 * `tile` latent pixels a side, each read with `feather + context` more
 * latent pixels around its core (clamped to the latent) and decoded on its
 * own; neighbours cross-fade linearly over 2·feather latent pixels
 * (×factor in the image) around the boundary of their cores (tile.h).
 * Memory is bounded by the tile. GroupNorm statistics are each tile's own
 * (as in other SD front ends' tiled decoders), so the result is close to,
 * not equal to, the full decode — unless one tile covers the latent,
 * when it is exactly dream_vae_decode(). Reports `work` progress over the
 * tiles. */
gboolean dream_vae_decode_tiled (const dream_vae *vae, const float *z, int batch, int h, int w,
                                 int tile, int feather, int context, float *image,
                                 dream_pool *pool, dream_progress *progress, double work,
                                 GError **error);

/* Optional probe after named stages, as in the reference's hooks:
 * "encoder.conv_in", "encoder.mid.attn_1", "encoder", "quant_conv",
 * "post_quant_conv", "decoder.conv_in", "decoder.mid.attn_1". */
void dream_vae_state_set_probe (dream_vae_state *s,
                                void (*probe) (gpointer user, const char *name,
                                               const float *data, int batch,
                                               int h, int w, int c),
                                gpointer user);

#endif /* DREAM_VAE_H */

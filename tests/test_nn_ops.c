/* test_nn_ops.c — the transformer ops of ops/nn.h against naive references.
 *
 * Like tests/test_ops.c (and ggml's test-backend-ops): random inputs, the
 * optimised op and a loop written from the definition in double, compared
 * by normalised error sqrt(Σ (a−b)² / Σ b²); any NaN/Inf fails. float32
 * GEMMs give ~1e-7; the bound 1e-5 leaves room for summation order and
 * dream_expf's ~1 ulp.
 */
#include "ops/nn.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#define NMSE_MAX 1e-5

static void
fill_random (GRand *r, float *x, size_t n, double scale)
{
  for (size_t i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (r, -scale, scale);
}

static double
norm_error (const float *a, const float *b, size_t n)
{
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < n; i++)
    {
      if (!isfinite (a[i]))
        return INFINITY;
      double d = (double) a[i] - b[i];
      num += d * d;
      den += (double) b[i] * b[i];
    }
  return den > 0.0 ? sqrt (num / den) : sqrt (num);
}

static double
act_ref (dream_nn_act act, double x)
{
  switch (act)
    {
    case DREAM_NN_ACT_GELU:
      return 0.5 * x * (1.0 + erf (x / sqrt (2.0)));
    case DREAM_NN_ACT_QUICK_GELU:
      return x / (1.0 + exp (-1.702 * x));
    case DREAM_NN_ACT_NONE:
    default:
      return x;
    }
}

/* ---- linear ------------------------------------------------------------ */

typedef struct { int n, in, out, ldx_pad, ldy_pad, bias, act, acc, threads; } linear_case;

static void
test_linear (void)
{
  static const linear_case cases[] = {
    { 1, 1, 1, 0, 0, 1, 0, 0, 1 },
    { 77, 32, 96, 0, 0, 1, 0, 0, 2 },        /* CLIP text qkv */
    { 50, 768, 3072, 0, 0, 1, 2, 0, 2 },     /* ViT-B image tokens: columns split */
    { 300, 64, 256, 5, 7, 1, 1, 0, 3 },      /* row blocks + padding */
    { 129, 40, 17, 0, 3, 0, 0, 1, 2 },       /* residual accumulate, no bias */
    { 17, 33, 200, 0, 0, 1, 2, 0, 1 },
  };
  GRand *r = g_rand_new_with_seed (11);
  dream_gemm_init ();
  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const linear_case *t = &cases[c];
      int ldx = t->in + t->ldx_pad, ldy = t->out + t->ldy_pad;
      float *x = g_new (float, (size_t) t->n * ldx), *w = g_new (float, (size_t) t->out * t->in);
      float *b = g_new (float, t->out), *y = g_new (float, (size_t) t->n * ldy);
      float *ref = g_new (float, (size_t) t->n * t->out), *got = g_new (float, (size_t) t->n * t->out);
      fill_random (r, x, (size_t) t->n * ldx, 1.0);
      fill_random (r, w, (size_t) t->out * t->in, 1.0 / sqrt (t->in));
      fill_random (r, b, t->out, 0.5);
      fill_random (r, y, (size_t) t->n * ldy, 1.0);
      for (int i = 0; i < t->n; i++)
        for (int o = 0; o < t->out; o++)
          {
            double s = t->bias ? b[o] : 0.0;
            for (int k = 0; k < t->in; k++)
              s += (double) x[(size_t) i * ldx + k] * w[(size_t) o * t->in + k];
            s = act_ref (t->act, s);
            if (t->acc)
              s += y[(size_t) i * ldy + o];
            ref[(size_t) i * t->out + o] = (float) s;
          }
      dream_pool *pool = dream_pool_new (t->threads);
      dream_linear_w l = { t->in, t->out, w, t->bias ? b : NULL };
      dream_linear (&l, x, t->n, ldx, y, ldy, t->act, t->acc, pool);
      for (int i = 0; i < t->n; i++)
        memcpy (got + (size_t) i * t->out, y + (size_t) i * ldy, sizeof (float) * t->out);
      double e = norm_error (got, ref, (size_t) t->n * t->out);
      g_test_message ("linear %dx%d->%d act %d acc %d threads %d: error %.3g",
                      t->n, t->in, t->out, t->act, t->acc, t->threads, e);
      g_assert_cmpfloat (e, <, NMSE_MAX);
      dream_pool_free (pool);
      g_free (x); g_free (w); g_free (b); g_free (y); g_free (ref); g_free (got);
    }
  g_rand_free (r);
}

/* ---- layer norm, activations, softmax ---------------------------------- */

static void
test_layer_norm (void)
{
  GRand *r = g_rand_new_with_seed (12);
  const int n = 70, dim = 96, ld = 100;
  float *x = g_new (float, n * ld), *y = g_new (float, n * ld);
  float *g = g_new (float, dim), *b = g_new (float, dim);
  float *ref = g_new (float, n * dim), *got = g_new (float, n * dim);
  fill_random (r, x, n * ld, 3.0);
  for (int i = 0; i < n * ld; i++)
    x[i] += 5.0f;   /* an offset, so the mean matters */
  fill_random (r, g, dim, 1.0);
  fill_random (r, b, dim, 1.0);
  for (int i = 0; i < n; i++)
    {
      double m = 0.0, v = 0.0;
      for (int k = 0; k < dim; k++)
        m += x[i * ld + k];
      m /= dim;
      for (int k = 0; k < dim; k++)
        v += (x[i * ld + k] - m) * (x[i * ld + k] - m);
      v /= dim;
      for (int k = 0; k < dim; k++)
        ref[i * dim + k] = (float) ((x[i * ld + k] - m) / sqrt (v + 1e-5) * g[k] + b[k]);
    }
  for (int pass = 0; pass < 2; pass++)
    {
      dream_pool *pool = pass ? dream_pool_new (2) : NULL;
      float *dst = pass ? x : y;   /* second pass in place */
      float *src = g_memdup2 (x, sizeof (float) * n * ld);
      dream_layer_norm (pass ? x : src, n, dim, ld, g, b, 1e-5f, dst, ld, pool);
      for (int i = 0; i < n; i++)
        memcpy (got + i * dim, dst + i * ld, sizeof (float) * dim);
      double e = norm_error (got, ref, n * dim);
      g_test_message ("layer_norm pass %d: error %.3g", pass, e);
      g_assert_cmpfloat (e, <, NMSE_MAX);
      g_free (src);
      dream_pool_free (pool);
    }
  g_free (x); g_free (y); g_free (g); g_free (b); g_free (ref); g_free (got);
  g_rand_free (r);
}

static void
test_activations (void)
{
  const int n = 4001;
  float *x = g_new (float, n), *ref = g_new (float, n);
  for (dream_nn_act act = DREAM_NN_ACT_GELU; act <= DREAM_NN_ACT_QUICK_GELU; act++)
    {
      for (int i = 0; i < n; i++)
        {
          x[i] = -20.0f + 40.0f * i / (n - 1);
          ref[i] = (float) act_ref (act, x[i]);
        }
      dream_nn_activate (act, x, n);
      double e = norm_error (x, ref, n), worst = 0.0;
      for (int i = 0; i < n; i++)
        worst = MAX (worst, fabs ((double) x[i] - ref[i]));
      g_test_message ("activation %d: error %.3g, max abs %.3g", act, e, worst);
      g_assert_cmpfloat (e, <, 1e-6);
      g_assert_cmpfloat (worst, <, 2e-6);
    }
  g_free (x); g_free (ref);
}

static void
test_gelu_fine (void)
{
  /* 2^18 points on [-14, 14]: absolute error within float32 rounding of
   * the larger values, relative error below 3e-6 wherever |gelu| > 1e-3,
   * tail included (0.5 x (1 + erff (x/√2)) in float32 loses up to 6% there
   * to cancellation; computing x − h / h with h = 0.5 x erfc does not) */
  const int n = 1 << 18;
  float *x = g_new (float, n);
  double worst_abs = 0, worst_rel = 0;
  for (int i = 0; i < n; i++)
    x[i] = -14.0f + 28.0f * (float) i / (n - 1);
  float *y = g_memdup2 (x, sizeof (float) * n);
  dream_gelu (y, n);
  for (int i = 0; i < n; i++)
    {
      double ref = 0.5 * x[i] * erfc (-x[i] / sqrt (2.0));
      double d = fabs ((double) y[i] - ref);
      g_assert_true (isfinite (y[i]));
      worst_abs = MAX (worst_abs, d);
      if (fabs (ref) > 1e-3)
        worst_rel = MAX (worst_rel, d / fabs (ref));
    }
  g_test_message ("gelu: max abs error %.3g, max relative %.3g", worst_abs, worst_rel);
  g_assert_cmpfloat (worst_abs, <, 5e-7);
  g_assert_cmpfloat (worst_rel, <, 3e-6);
  g_free (x);
  g_free (y);
}

static void
test_expf (void)
{
  double worst = 0.0;
  for (int i = 0; i <= 200000; i++)
    {
      float x = -87.0f + 175.0f * (float) i / 200000;
      double rel = fabs ((double) dream_expf (x) / exp ((double) x) - 1.0);
      worst = MAX (worst, rel);
    }
  g_test_message ("dream_expf: max relative error %.3g", worst);
  g_assert_cmpfloat (worst, <, 3e-7);
  g_assert_cmpfloat (dream_expf (0.0f), ==, 1.0f);
  float v[7] = { -INFINITY, -1000.0f, -20.0f, 0.0f, 3.5f, 100.0f, INFINITY };
  dream_exp_array (v, 7);
  g_assert_cmpfloat (v[0], <, 1e-37);
  g_assert_cmpfloat (v[1], <, 1e-37);
  g_assert_cmpfloat (fabs (v[2] / exp (-20.0) - 1.0), <, 3e-7);
  g_assert_cmpfloat (v[3], ==, 1.0f);
  g_assert_cmpfloat (fabs (v[4] / exp (3.5) - 1.0), <, 3e-7);
  g_assert_true (isfinite (v[5]) && isfinite (v[6]) && v[6] > 1e38f);
  g_assert_true (isfinite (dream_expf (1000.0f)) && dream_expf (-1000.0f) >= 0.0f);
}

static void
test_softmax (void)
{
  GRand *r = g_rand_new_with_seed (13);
  const int n = 333;
  float *x = g_new (float, n), *ref = g_new (float, n);
  fill_random (r, x, n, 30.0);
  x[5] = x[200] = -INFINITY;
  double max = -INFINITY, sum = 0.0;
  for (int i = 0; i < n; i++)
    max = MAX (max, x[i]);
  for (int i = 0; i < n; i++)
    sum += isinf (x[i]) ? 0.0 : exp (x[i] - max);
  for (int i = 0; i < n; i++)
    ref[i] = isinf (x[i]) ? 0.0f : (float) (exp (x[i] - max) / sum);
  dream_softmax (x, n);
  g_assert_cmpfloat (x[5], ==, 0.0f);
  g_assert_cmpfloat (norm_error (x, ref, n), <, NMSE_MAX);
  float masked[3] = { -INFINITY, -INFINITY, -INFINITY };
  dream_softmax (masked, 3);
  g_assert_cmpfloat (masked[1], ==, 0.0f);
  g_free (x); g_free (ref);
  g_rand_free (r);
}

/* ---- attention --------------------------------------------------------- */

static void
attention_naive (const dream_attention_args *a, float *out)
{
  double scale = 1.0 / sqrt (a->d);
  double *s = g_new (double, a->n_k);
  for (int b = 0; b < a->batch; b++)
    for (int h = 0; h < a->heads; h++)
      for (int i = 0; i < a->n_q; i++)
        {
          const float *q = a->q + ((size_t) b * a->n_q + i) * a->ldq + h * a->d;
          double max = -INFINITY, sum = 0.0;
          int seen = a->causal ? MIN (a->n_k, i + a->n_k - a->n_q + 1) : a->n_k;
          for (int j = 0; j < seen; j++)
            {
              const float *k = a->k + ((size_t) b * a->n_k + j) * a->ldk + h * a->d;
              double dot = 0.0;
              for (int c = 0; c < a->d; c++)
                dot += (double) q[c] * k[c];
              s[j] = dot * scale;
              max = MAX (max, s[j]);
            }
          for (int j = 0; j < seen; j++)
            sum += (s[j] = exp (s[j] - max));
          float *o = out + (((size_t) b * a->n_q + i) * a->heads + h) * a->d;
          for (int c = 0; c < a->d; c++)
            {
              double acc = 0.0;
              for (int j = 0; j < seen; j++)
                acc += s[j] * a->v[((size_t) b * a->n_k + j) * a->ldv + h * a->d + c];
              o[c] = (float) (acc / sum);
            }
        }
  g_free (s);
}

typedef struct { int batch, n_q, n_k, heads, d, causal, fused, threads; } attn_case;

static void
test_attention (void)
{
  static const attn_case cases[] = {
    { 4, 77, 77, 4, 8, 1, 1, 2 },      /* CLIP text: fused qkv, causal mask */
    { 2, 17, 17, 1, 64, 0, 1, 1 },     /* CLIP vision, one head */
    { 1, 1, 1, 2, 3, 1, 0, 1 },
    { 1, 300, 77, 8, 40, 0, 0, 2 },    /* cross attention: several blocks */
    { 1, 1024, 1024, 2, 40, 0, 0, 2 }, /* spatial self-attention: 256-row blocks */
    { 2, 20, 50, 3, 16, 1, 0, 3 },     /* causal with n_k > n_q */
    { 3, 65, 4500, 1, 8, 0, 0, 2 },    /* 58-row blocks, a short last one */
  };
  GRand *r = g_rand_new_with_seed (14);
  dream_gemm_init ();
  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const attn_case *t = &cases[c];
      int dim = t->heads * t->d;
      dream_attention_args a = {
        .batch = t->batch, .n_q = t->n_q, .n_k = t->n_k, .heads = t->heads,
        .d = t->d, .causal = t->causal,
      };
      float *qkv = NULL, *q = NULL, *k = NULL, *v = NULL;
      if (t->fused)
        {
          g_assert_cmpint (t->n_q, ==, t->n_k);
          size_t n = (size_t) t->batch * t->n_q * 3 * dim;
          qkv = g_new (float, n);
          fill_random (r, qkv, n, 2.0);
          a.q = qkv; a.k = qkv + dim; a.v = qkv + 2 * dim;
          a.ldq = a.ldk = a.ldv = 3 * dim;
        }
      else
        {
          size_t nq = (size_t) t->batch * t->n_q * dim, nk = (size_t) t->batch * t->n_k * dim;
          q = g_new (float, nq); k = g_new (float, nk); v = g_new (float, nk);
          fill_random (r, q, nq, 2.0);
          fill_random (r, k, nk, 2.0);
          fill_random (r, v, nk, 1.0);
          a.q = q; a.k = k; a.v = v;
          a.ldq = a.ldk = a.ldv = dim;
        }
      size_t no = (size_t) t->batch * t->n_q * dim;
      float *out = g_new (float, no), *ref = g_new (float, no), *out1 = g_new (float, no);
      a.out = out;
      a.ldo = dim;
      attention_naive (&a, ref);
      dream_pool *pool = dream_pool_new (t->threads);
      float *scratch = g_new (float, dream_attention_scratch_size (t->n_q, t->n_k)
                              * dream_pool_n_threads (pool));
      dream_attention (&a, pool, scratch);
      double e = norm_error (out, ref, no);
      g_test_message ("attention b%d %dx%d heads %dx%d causal %d threads %d: error %.3g",
                      t->batch, t->n_q, t->n_k, t->heads, t->d, t->causal, t->threads, e);
      g_assert_cmpfloat (e, <, NMSE_MAX);
      /* Serial run: the same bits. */
      a.out = out1;
      dream_attention (&a, NULL, scratch);
      g_assert_cmpmem (out, no * sizeof (float), out1, no * sizeof (float));
      dream_pool_free (pool);
      g_free (scratch); g_free (out); g_free (out1); g_free (ref);
      g_free (qkv); g_free (q); g_free (k); g_free (v);
    }
  g_rand_free (r);
}

/* ---- weights from a file ----------------------------------------------- */

static void
test_weight_views (void)
{
  /* F32 in an aligned file maps without copy; F16 rows widen exactly. */
  static const float vals[6] = { 1.0f, -2.0f, 0.5f, 3.0f, -0.25f, 8.0f };
  dream_st_out t[] = { { "w", 2, { 3, 2 }, vals } };
  char *dir = g_dir_make_tmp ("dream-nn-XXXXXX", NULL);
  char *path = g_build_filename (dir, "w.safetensors", NULL);
  GError *error = NULL;
  g_assert_true (dream_st_write (path, t, 1, NULL, &error));
  dream_st_file *f = dream_st_open (path, &error);
  g_assert_no_error (error);
  const dream_st_tensor *w = dream_st_find (f, "w");
  const float *p = dream_weight_f32 (w, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (p, sizeof vals, vals, sizeof vals);
  if (!dream_weight_needs_copy (w))
    g_assert_true ((const void *) p == w->data);
  float rows[4];
  g_assert_true (dream_weight_rows_f32 (w, 1, 2, rows, &error));
  g_assert_cmpmem (rows, sizeof rows, vals + 2, sizeof rows);
  g_assert_false (dream_weight_rows_f32 (w, 2, 2, rows, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_clear_error (&error);

  /* F16: 1.0, -2.0, 0.5 as half floats */
  guint16 half[3] = { 0x3c00, 0xc000, 0x3800 };
  dream_st_tensor h = { .name = "h", .dtype = DREAM_DTYPE_F16, .n_dims = 2,
                        .shape = { 3, 1 }, .n_elements = 3, .data = half,
                        .n_bytes = sizeof half };
  g_assert_true (dream_weight_needs_copy (&h));
  float buf[3];
  p = dream_weight_f32 (&h, buf, &error);
  g_assert_true (p == buf);
  g_assert_cmpfloat (buf[1], ==, -2.0f);
  g_assert_true (dream_weight_rows_f32 (&h, 2, 1, buf, &error));
  g_assert_cmpfloat (buf[0], ==, 0.5f);
  g_assert_null (dream_weight_f32 (&h, NULL, &error));
  g_clear_error (&error);

  dream_st_close (f);
  g_unlink (path);
  g_rmdir (dir);
  g_free (path); g_free (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/nn/linear", test_linear);
  g_test_add_func ("/nn/layer-norm", test_layer_norm);
  g_test_add_func ("/nn/activations", test_activations);
  g_test_add_func ("/nn/gelu-fine", test_gelu_fine);
  g_test_add_func ("/nn/expf", test_expf);
  g_test_add_func ("/nn/softmax", test_softmax);
  g_test_add_func ("/nn/attention", test_attention);
  g_test_add_func ("/nn/weight-views", test_weight_views);
  return g_test_run ();
}

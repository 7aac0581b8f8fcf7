/* fuzz_safetensors.c — libFuzzer target for the safetensors reader.
 *
 * Opens each input with dream_st_open_memory. When the reader accepts it,
 * everything it handed out is touched: every tensor's fields, every data
 * byte (floating tensors through dream_st_to_f32, others by summing
 * bytes), lookups by name, dream_st_expect with the tensor's own shape, and
 * a few metadata keys. ASan then sees any pointer the validation let
 * through that does not stay inside the input. Then the same tensors go
 * through a view (renamed, flattened, the file owned by the view) and are
 * touched again there; a repeated name must be refused.
 *
 * Built and run by tests/fuzz/run-fuzz.sh.
 */
#include "io/safetensors.h"

#include "dream.h"

#include <stdint.h>
#include <string.h>

/* Floating tensors up to this many elements are converted. */
#define FUZZ_MAX_CONVERT (1 << 16)

static void
touch_tensor (const dream_st_file *st, const dream_st_tensor *t)
{
  GError *error = NULL;
  volatile guint8 sink = 0;
  const guint8 *bytes = t->data;

  if (dream_st_find (st, t->name) != t)
    __builtin_trap ();
  if (t->n_dims < 0 || t->n_dims > DREAM_ST_MAX_DIMS
      || t->n_bytes != (size_t) t->n_elements * dream_dtype_size (t->dtype))
    __builtin_trap ();
  (void) dream_dtype_name (t->dtype);

  for (size_t i = 0; i < t->n_bytes; i++)
    sink ^= bytes[i];

  if (t->n_elements <= FUZZ_MAX_CONVERT)
    {
      float *out = g_new (float, t->n_elements > 0 ? t->n_elements : 1);
      gboolean is_float = t->dtype == DREAM_DTYPE_F32
                          || t->dtype == DREAM_DTYPE_F16
                          || t->dtype == DREAM_DTYPE_BF16
                          || t->dtype == DREAM_DTYPE_F64;

      if (dream_st_to_f32 (t, out, t->n_elements, &error) != is_float)
        __builtin_trap ();
      g_clear_error (&error);
      if (dream_st_expect (st, t->name, t->n_dims, t->shape, &error)
          == NULL && is_float)
        __builtin_trap ();
      g_clear_error (&error);
      g_free (out);
    }
  (void) sink;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const keys[] = { "architecture", "format", "", "a" };
  GError *error = NULL;
  dream_st_file *st;

  st = dream_st_open_memory (data, size, &error);
  if (!st)
    {
      /* every refusal is a model error with a message naming the input */
      if (!error || !g_error_matches (error, DREAM_ERROR, DREAM_ERROR_MODEL)
          || !g_str_has_prefix (error->message, "(memory): ")
          || !g_utf8_validate (error->message, -1, NULL))
        __builtin_trap ();
      g_error_free (error);
      return 0;
    }

  for (int i = 0; i < dream_st_count (st); i++)
    touch_tensor (st, dream_st_get (st, i));
  if (dream_st_get (st, dream_st_count (st)) != NULL)
    __builtin_trap ();
  for (size_t k = 0; k < G_N_ELEMENTS (keys); k++)
    {
      const char *value = dream_st_metadata (st, keys[k]);

      if (value)
        (void) strlen (value);
    }

  /* a view owning the file: every tensor renamed and flattened */
  dream_st_file *view = dream_st_view_new ("view");
  dream_st_view_own (view, st);
  for (int i = 0; i < dream_st_count (st); i++)
    {
      const dream_st_tensor *t = dream_st_get (st, i);
      char *name = g_strconcat ("v.", t->name, NULL);
      int64_t flat[1] = { t->n_elements };
      if (!dream_st_view_add (view, name, t, 1, flat, &error)
          || dream_st_view_add (view, name, t, 0, NULL, &error)
          || !g_error_matches (error, DREAM_ERROR, DREAM_ERROR_MODEL))
        __builtin_trap ();
      g_clear_error (&error);
      const dream_st_tensor *v = dream_st_find (view, name);
      if (!v || v->data != t->data || v->n_bytes != t->n_bytes || v->n_dims != 1)
        __builtin_trap ();
      g_free (name);
    }
  for (int i = 0; i < dream_st_count (view); i++)
    touch_tensor (view, dream_st_get (view, i));
  dream_st_close (view);
  return 0;
}

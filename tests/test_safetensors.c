/* test_safetensors.c — tests of the safetensors reader and writer
 * (engine/io/safetensors.c).
 *
 * Files are built by hand (header text + data bytes) and through
 * dream_st_write, then read back; expected values are computed here
 * independently of the engine (F16/BF16 bit patterns against ldexp()).
 * A table of malformed files checks that every defect the reader promises
 * to catch gives NULL + DREAM_ERROR_MODEL with a message naming it, and a
 * real multi-tensor file from $DREAM_SHARED_DATA is read whole and
 * truncated.
 */
#include "io/safetensors.h"

#include "dream.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------ */

/* A file image: 8-byte little-endian header length, the header, then
 * data_size bytes of data (byte i of the data section is i & 0xFF). */
static GByteArray *
make_file (const char *header, gsize header_len, gsize data_size)
{
  GByteArray *bytes = g_byte_array_new ();
  guint64 len_le = GUINT64_TO_LE ((guint64) header_len);

  g_byte_array_append (bytes, (const guint8 *) &len_le, 8);
  g_byte_array_append (bytes, (const guint8 *) header, (guint) header_len);
  for (gsize i = 0; i < data_size; i++)
    {
      guint8 b = (guint8) (i & 0xFF);

      g_byte_array_append (bytes, &b, 1);
    }
  return bytes;
}

/* Stores little-endian values into the data section of a file image. */
static guint8 *
data_section (GByteArray *bytes)
{
  guint64 len;

  memcpy (&len, bytes->data, 8);
  return bytes->data + 8 + GUINT64_FROM_LE (len);
}

static void
put_u16 (guint8 *p, guint16 v)
{
  v = GUINT16_TO_LE (v);
  memcpy (p, &v, 2);
}

static void
put_f32 (guint8 *p, float f)
{
  guint32 v;

  memcpy (&v, &f, 4);
  v = GUINT32_TO_LE (v);
  memcpy (p, &v, 4);
}

static void
put_f64 (guint8 *p, double d)
{
  guint64 v;

  memcpy (&v, &d, 8);
  v = GUINT64_TO_LE (v);
  memcpy (p, &v, 8);
}

static guint32
float_bits (float f)
{
  guint32 v;

  memcpy (&v, &f, 4);
  return v;
}

/* Converts one tensor, asserting success. Caller frees. */
static float *
to_f32 (const dream_st_tensor *t)
{
  GError *error = NULL;
  float *out = g_new0 (float, MAX (t->n_elements, 1));

  g_assert_true (dream_st_to_f32 (t, out, t->n_elements, &error));
  g_assert_no_error (error);
  return out;
}

/* An exact-size heap copy, so ASan sees any read past its end. */
static guint8 *
exact_copy (const void *data, gsize size)
{
  guint8 *copy = g_malloc (MAX (size, 1));

  memcpy (copy, data, size);
  return copy;
}

static char *
shared_data_path (const char *relative)
{
  const char *root = g_getenv ("DREAM_SHARED_DATA");

  return root ? g_build_filename (root, relative, NULL) : NULL;
}

/* ---- dtypes ------------------------------------------------------------- */

static void
test_dtypes (void)
{
  static const struct { dream_dtype dtype; size_t size; const char *name; }
  table[] = {
    { DREAM_DTYPE_F64, 8, "F64" },  { DREAM_DTYPE_F32, 4, "F32" },
    { DREAM_DTYPE_F16, 2, "F16" },  { DREAM_DTYPE_BF16, 2, "BF16" },
    { DREAM_DTYPE_I64, 8, "I64" },  { DREAM_DTYPE_I32, 4, "I32" },
    { DREAM_DTYPE_I16, 2, "I16" },  { DREAM_DTYPE_I8, 1, "I8" },
    { DREAM_DTYPE_U8, 1, "U8" },    { DREAM_DTYPE_BOOL, 1, "BOOL" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_assert_cmpuint (dream_dtype_size (table[i].dtype), ==, table[i].size);
      g_assert_cmpstr (dream_dtype_name (table[i].dtype), ==, table[i].name);
    }
  g_assert_cmpuint (dream_dtype_size ((dream_dtype) 99), ==, 0);
  g_assert_nonnull (dream_dtype_name ((dream_dtype) 99));
}

/* ---- a hand-made file with every dtype ---------------------------------- */

/* Data layout (byte offsets in the data section):
 *   w    F32  [2, 3]  0..24      h    F16  [4]  24..32
 *   b    BF16 [2]    32..36      (hole 36..40)
 *   d    F64  [3]    40..64      idx  I64  [2]  64..80
 *   mask U8   [3]    80..83      flag BOOL []   83..84
 *   none F32  [0, 5] 84..84
 * The header is not padded to a multiple of 8, so every tensor's data is
 * misaligned in memory: the reader and converter must cope with that. */
static const char hand_header[] =
  "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
  " \"h\": {\"shape\": [4], \"dtype\": \"F16\", \"data_offsets\": [24, 32]},"
  "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[32,36]},"
  "\"__metadata__\":{\"architecture\":\"ffdnet\",\"note\":\"gr\\u00fcn \\\"q\\\"\"},"
  "\"d\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[40,64]},"
  "\"idx\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[64,80]},"
  "\"mask\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[80,83]},"
  "\"flag\":{\"dtype\":\"BOOL\",\"shape\":[],\"data_offsets\":[83,84]},"
  "\"none\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[84,84]}"
  "}        ";

static GByteArray *
make_hand_file (void)
{
  GByteArray *bytes = make_file (hand_header, strlen (hand_header), 84);
  guint8 *d = data_section (bytes);
  static const float w[6] = { 1.0f, -2.5f, 0.125f, 3e38f, -0.0f, 7.0f };

  for (int i = 0; i < 6; i++)
    put_f32 (d + 4 * i, w[i]);
  put_u16 (d + 24, 0x3C00);  /* 1 */
  put_u16 (d + 26, 0xC000);  /* -2 */
  put_u16 (d + 28, 0x7BFF);  /* 65504 */
  put_u16 (d + 30, 0x0001);  /* 2^-24 */
  put_u16 (d + 32, 0x3F80);  /* BF16 1 */
  put_u16 (d + 34, 0xC049);  /* BF16 -3.140625 */
  put_f64 (d + 40, 0.1);
  put_f64 (d + 48, -1e300);
  put_f64 (d + 56, 1e-300);
  return bytes;
}

static void
test_read_hand_made (void)
{
  GByteArray *bytes = make_hand_file ();
  const guint8 *section = data_section (bytes);
  GError *error = NULL;
  dream_st_file *st;
  const dream_st_tensor *t;
  float *v;

  st = dream_st_open_memory (bytes->data, bytes->len, &error);
  g_assert_no_error (error);
  g_assert_nonnull (st);
  g_assert_cmpint (dream_st_count (st), ==, 8);

  /* header order is kept */
  g_assert_cmpstr (dream_st_get (st, 0)->name, ==, "w");
  g_assert_cmpstr (dream_st_get (st, 1)->name, ==, "h");
  g_assert_cmpstr (dream_st_get (st, 7)->name, ==, "none");
  g_assert_null (dream_st_get (st, 8));
  g_assert_null (dream_st_get (st, -1));
  g_assert_null (dream_st_find (st, "missing"));
  g_assert_null (dream_st_find (st, "__metadata__"));

  g_assert_cmpstr (dream_st_metadata (st, "architecture"), ==, "ffdnet");
  g_assert_cmpstr (dream_st_metadata (st, "note"), ==, "gr\xc3\xbcn \"q\"");
  g_assert_null (dream_st_metadata (st, "missing"));

  t = dream_st_find (st, "w");
  g_assert_nonnull (t);
  g_assert_cmpint (t->dtype, ==, DREAM_DTYPE_F32);
  g_assert_cmpint (t->n_dims, ==, 2);
  g_assert_cmpint (t->shape[0], ==, 2);
  g_assert_cmpint (t->shape[1], ==, 3);
  g_assert_cmpint (t->n_elements, ==, 6);
  g_assert_cmpuint (t->n_bytes, ==, 24);
  g_assert_true (t->data == (const void *) section);   /* zero copy */
  v = to_f32 (t);
  g_assert_cmpfloat (v[0], ==, 1.0f);
  g_assert_cmpfloat (v[1], ==, -2.5f);
  g_assert_cmpfloat (v[2], ==, 0.125f);
  g_assert_cmpfloat (v[3], ==, 3e38f);
  g_assert_true (v[4] == 0.0f && signbit (v[4]));
  g_assert_cmpfloat (v[5], ==, 7.0f);
  g_free (v);

  t = dream_st_find (st, "h");
  g_assert_true (t->data == (const void *) (section + 24));
  v = to_f32 (t);
  g_assert_cmpfloat (v[0], ==, 1.0f);
  g_assert_cmpfloat (v[1], ==, -2.0f);
  g_assert_cmpfloat (v[2], ==, 65504.0f);
  g_assert_cmpfloat (v[3], ==, (float) ldexp (1.0, -24));
  g_free (v);

  t = dream_st_find (st, "b");
  v = to_f32 (t);
  g_assert_cmpfloat (v[0], ==, 1.0f);
  g_assert_cmpfloat (v[1], ==, -3.140625f);
  g_free (v);

  t = dream_st_find (st, "d");
  g_assert_true (t->data == (const void *) (section + 40));
  v = to_f32 (t);
  g_assert_cmpfloat (v[0], ==, (float) 0.1);
  g_assert_true (isinf (v[1]) && v[1] < 0);
  g_assert_true (v[2] == 0.0f);
  g_free (v);

  t = dream_st_find (st, "idx");
  g_assert_cmpint (t->dtype, ==, DREAM_DTYPE_I64);
  g_assert_cmpuint (t->n_bytes, ==, 16);
  {
    float out[2];

    g_assert_false (dream_st_to_f32 (t, out, 2, &error));
    g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
    g_assert_nonnull (strstr (error->message, "idx"));
    g_clear_error (&error);
  }

  t = dream_st_find (st, "mask");
  g_assert_cmpint (t->dtype, ==, DREAM_DTYPE_U8);
  g_assert_cmpint (((const guint8 *) t->data)[0], ==, 80);

  t = dream_st_find (st, "flag");
  g_assert_cmpint (t->dtype, ==, DREAM_DTYPE_BOOL);
  g_assert_cmpint (t->n_dims, ==, 0);
  g_assert_cmpint (t->n_elements, ==, 1);
  g_assert_cmpuint (t->n_bytes, ==, 1);

  t = dream_st_find (st, "none");
  g_assert_cmpint (t->n_elements, ==, 0);
  g_assert_cmpuint (t->n_bytes, ==, 0);
  {
    float out[1] = { 42.0f };

    g_assert_true (dream_st_to_f32 (t, out, 0, &error));
    g_assert_no_error (error);
    g_assert_cmpfloat (out[0], ==, 42.0f);
    /* a wrong count is refused */
    t = dream_st_find (st, "w");
    g_assert_false (dream_st_to_f32 (t, out, 1, &error));
    g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
    g_clear_error (&error);
  }

  dream_st_close (st);
  g_byte_array_unref (bytes);
}

/* ---- float conversions against independently computed values ------------ */

/* Value of an F16 bit pattern from the IEEE 754 definition. */
static double
half_reference (guint16 h)
{
  int sign = h >> 15, exponent = (h >> 10) & 31, mantissa = h & 1023;
  double v;

  if (exponent == 31)
    v = mantissa ? NAN : INFINITY;
  else if (exponent == 0)
    v = ldexp (mantissa, -24);
  else
    v = ldexp (1024 + mantissa, exponent - 25);
  return sign ? -v : v;
}

static float
convert_one (dream_dtype dtype, const guint8 *bytes)
{
  dream_st_tensor t = { "x", dtype, 0, { 0 }, 1, bytes,
                        dream_dtype_size (dtype) };
  GError *error = NULL;
  float out = 0;

  g_assert_true (dream_st_to_f32 (&t, &out, 1, &error));
  g_assert_no_error (error);
  return out;
}

static void
test_f16 (void)
{
  static const struct { guint16 bits; double value; } known[] = {
    { 0x3C00, 1.0 },
    { 0xC000, -2.0 },
    { 0x7BFF, 65504.0 },
    { 0x0001, 5.9604644775390625e-08 },      /* 2^-24, smallest subnormal */
    { 0x03FF, 6.0975551605224609375e-05 },   /* largest subnormal */
    { 0x0400, 6.103515625e-05 },             /* 2^-14, smallest normal */
    { 0x3555, 0.333251953125 },
    { 0x8001, -5.9604644775390625e-08 },
    { 0x0000, 0.0 },
    { 0x7C00, INFINITY },
    { 0xFC00, -INFINITY },
  };
  guint8 b[2];
  float f;

  for (gsize i = 0; i < G_N_ELEMENTS (known); i++)
    {
      put_u16 (b, known[i].bits);
      g_assert_cmpfloat (convert_one (DREAM_DTYPE_F16, b), ==,
                         (float) known[i].value);
    }

  put_u16 (b, 0x8000);
  f = convert_one (DREAM_DTYPE_F16, b);
  g_assert_true (f == 0.0f && signbit (f));
  put_u16 (b, 0x7E00);
  g_assert_true (isnan (convert_one (DREAM_DTYPE_F16, b)));
  put_u16 (b, 0xFC01);
  g_assert_true (isnan (convert_one (DREAM_DTYPE_F16, b)));

  /* every finite pattern against the formula */
  for (guint32 h = 0; h <= 0xFFFF; h++)
    {
      double want = half_reference ((guint16) h);

      put_u16 (b, (guint16) h);
      f = convert_one (DREAM_DTYPE_F16, b);
      if (isnan (want))
        g_assert_true (isnan (f));
      else
        g_assert_cmpfloat (f, ==, (float) want);
    }
}

static void
test_bf16 (void)
{
  static const struct { guint16 bits; double value; } known[] = {
    { 0x3F80, 1.0 },
    { 0xC000, -2.0 },
    { 0x4049, 3.140625 },
    { 0x7F7F, 3.3895313892515355e+38 },      /* largest finite */
    { 0x0080, 1.1754943508222875e-38 },      /* 2^-126 */
    { 0x0001, 9.183549615799121e-41 },       /* 2^-133, float subnormal */
    { 0x7F80, INFINITY },
    { 0xFF80, -INFINITY },
  };
  guint8 b[2];
  float f;

  for (gsize i = 0; i < G_N_ELEMENTS (known); i++)
    {
      put_u16 (b, known[i].bits);
      g_assert_cmpfloat (convert_one (DREAM_DTYPE_BF16, b), ==,
                         (float) known[i].value);
    }
  g_assert_cmpfloat ((float) ldexp (1.0, -133), ==, (float) known[5].value);
  put_u16 (b, 0x8000);
  f = convert_one (DREAM_DTYPE_BF16, b);
  g_assert_true (f == 0.0f && signbit (f));
  put_u16 (b, 0x7FC0);
  g_assert_true (isnan (convert_one (DREAM_DTYPE_BF16, b)));
}

static void
test_f64_f32 (void)
{
  guint8 b[8];
  float f;

  put_f64 (b, 1.5);
  g_assert_cmpfloat (convert_one (DREAM_DTYPE_F64, b), ==, 1.5f);
  put_f64 (b, -0.25);
  g_assert_cmpfloat (convert_one (DREAM_DTYPE_F64, b), ==, -0.25f);
  put_f64 (b, 1e300);
  g_assert_true (isinf (convert_one (DREAM_DTYPE_F64, b)));
  put_f64 (b, NAN);
  g_assert_true (isnan (convert_one (DREAM_DTYPE_F64, b)));

  put_f32 (b, 1e-45f);   /* a float subnormal stays exact */
  f = convert_one (DREAM_DTYPE_F32, b);
  g_assert_cmpuint (float_bits (f), ==, 1);
  put_f32 (b, -INFINITY);
  g_assert_true (isinf (convert_one (DREAM_DTYPE_F32, b)));
}

/* ---- dream_st_expect ----------------------------------------------------- */

static void
test_expect (void)
{
  GByteArray *bytes = make_hand_file ();
  GError *error = NULL;
  dream_st_file *st = dream_st_open_memory (bytes->data, bytes->len, &error);
  const int64_t good[2] = { 2, 3 }, bad[2] = { 3, 2 };
  const dream_st_tensor *t;

  g_assert_no_error (error);
  t = dream_st_expect (st, "w", 2, good, &error);
  g_assert_no_error (error);
  g_assert_true (t == dream_st_find (st, "w"));

  g_assert_null (dream_st_expect (st, "w", 2, bad, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_assert_nonnull (strstr (error->message, "'w'"));
  g_assert_nonnull (strstr (error->message, "[2, 3]"));
  g_assert_nonnull (strstr (error->message, "[3, 2]"));
  g_clear_error (&error);

  g_assert_null (dream_st_expect (st, "w", 1, good, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_clear_error (&error);

  g_assert_null (dream_st_expect (st, "nothere", 1, good, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_assert_nonnull (strstr (error->message, "nothere"));
  g_clear_error (&error);

  g_assert_null (dream_st_expect (st, "idx", 1, (int64_t[]) { 2 }, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_clear_error (&error);

  g_assert_nonnull (dream_st_expect (st, "none", 2, (int64_t[]) { 0, 5 },
                                     &error));
  g_assert_no_error (error);

  dream_st_close (st);
  g_byte_array_unref (bytes);
}

/* ---- writing ------------------------------------------------------------- */

static int
count_entries (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  int n = 0;

  g_assert_nonnull (d);
  while (g_dir_read_name (d))
    n++;
  g_dir_close (d);
  return n;
}

static void
test_round_trip (void)
{
  char *dir = g_dir_make_tmp ("dream-st-XXXXXX", NULL);
  char *path = g_build_filename (dir, "out.safetensors", NULL);
  const char *const metadata[] = {
    "architecture", "ffdnet", "empty", "", "json", "{\"a\": [1, 2]}",
    "odd \"key\"", "tab\there\nnew line / 'single' \\ gr\xc3\xbcn \x01",
    NULL
  };
  float a[2 * 3 * 4], scalar[1] = { -0.0f }, special[6];
  dream_st_out out[4] = {
    { "layer.0.weight", 3, { 2, 3, 4 }, a },
    { "scalar", 0, { 0 }, scalar },
    { "special", 1, { 6 }, special },
    { "enc/blocks.0's \"w\" \xc3\xbc", 2, { 3, 0 }, NULL },
  };
  GError *error = NULL;
  dream_st_file *st;
  GRand *rand = g_rand_new_with_seed (7);
  char *contents;
  gsize length;
  guint64 header_len;

  g_assert_nonnull (dir);
  for (gsize i = 0; i < G_N_ELEMENTS (a); i++)
    a[i] = (float) g_rand_double_range (rand, -1e6, 1e6);
  special[0] = NAN;
  special[1] = INFINITY;
  special[2] = -INFINITY;
  special[3] = 1e-45f;
  special[4] = -3.4028234e38f;
  special[5] = 0.1f;

  g_assert_true (dream_st_write (path, out, 4, metadata, &error));
  g_assert_no_error (error);
  g_assert_cmpint (count_entries (dir), ==, 1);   /* no temp file left */

  /* header length is a multiple of 8; data starts aligned */
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  memcpy (&header_len, contents, 8);
  header_len = GUINT64_FROM_LE (header_len);
  g_assert_cmpuint (header_len % 8, ==, 0);
  g_assert_cmpuint (length, ==, 8 + header_len + 4 * (24 + 1 + 6));
  g_free (contents);

  st = dream_st_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dream_st_count (st), ==, 4);
  g_assert_cmpstr (dream_st_metadata (st, "architecture"), ==, "ffdnet");
  g_assert_cmpstr (dream_st_metadata (st, "empty"), ==, "");
  g_assert_cmpstr (dream_st_metadata (st, "json"), ==, "{\"a\": [1, 2]}");
  g_assert_cmpstr (dream_st_metadata (st, "odd \"key\""), ==, metadata[7]);
  for (int i = 0; i < 4; i++)
    {
      const dream_st_tensor *t = dream_st_find (st, out[i].name);
      float *v;

      g_assert_nonnull (t);
      g_assert_cmpint (t->dtype, ==, DREAM_DTYPE_F32);
      g_assert_cmpint (t->n_dims, ==, out[i].n_dims);
      for (int d = 0; d < t->n_dims; d++)
        g_assert_cmpint (t->shape[d], ==, out[i].shape[d]);
      v = to_f32 (t);
      if (t->n_elements > 0)
        g_assert_cmpmem (v, 4 * t->n_elements, out[i].data,
                         4 * t->n_elements);
      g_free (v);
    }
  dream_st_close (st);

  /* writing again replaces the file; metadata may be NULL */
  g_assert_true (dream_st_write (path, out + 1, 1, NULL, &error));
  g_assert_no_error (error);
  st = dream_st_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dream_st_count (st), ==, 1);
  g_assert_null (dream_st_metadata (st, "architecture"));
  dream_st_close (st);
  g_assert_cmpint (count_entries (dir), ==, 1);

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  g_rand_free (rand);
  g_free (path);
  g_free (dir);
}

static void
test_write_invalid (void)
{
  char *dir = g_dir_make_tmp ("dream-st-XXXXXX", NULL);
  char *path = g_build_filename (dir, "bad.safetensors", NULL);
  char *nowhere = g_build_filename (dir, "no", "such", "dir.safetensors",
                                    NULL);
  float x[2] = { 1, 2 };
  dream_st_out twice[2] = { { "a", 1, { 2 }, x }, { "a", 1, { 2 }, x } };
  dream_st_out bad_dims[1] = { { "a", 9, { 1 }, x } };
  dream_st_out negative[1] = { { "a", 1, { -2 }, x } };
  dream_st_out reserved[1] = { { "__metadata__", 1, { 2 }, x } };
  dream_st_out no_data[1] = { { "a", 1, { 2 }, NULL } };
  const char *const odd_metadata[] = { "key", NULL };
  const char *const repeated_metadata[] = { "k", "1", "k", "2", NULL };
  GError *error = NULL;

  g_assert_false (dream_st_write (path, twice, 2, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (dream_st_write (path, bad_dims, 1, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (dream_st_write (path, negative, 1, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (dream_st_write (path, reserved, 1, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (dream_st_write (path, no_data, 1, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (dream_st_write (path, twice, 1, odd_metadata, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (dream_st_write (path, twice, 1, repeated_metadata, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpint (count_entries (dir), ==, 0);

  g_assert_false (dream_st_write (nowhere, twice, 1, NULL, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_IO);
  g_clear_error (&error);

  /* a file that cannot be opened is an I/O error, not a model error */
  g_assert_null (dream_st_open (path, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "bad.safetensors"));
  g_clear_error (&error);

  g_assert_cmpint (g_rmdir (dir), ==, 0);
  g_free (nowhere);
  g_free (path);
  g_free (dir);
}

/* ---- malformed files ------------------------------------------------------ */

#define ENTRY(dtype, shape, offsets) \
  "{\"dtype\":" dtype ",\"shape\":" shape ",\"data_offsets\":" offsets "}"

typedef struct {
  const char *what;        /* the defect */
  const char *header;      /* header text */
  gssize header_len;       /* -1: strlen (header) */
  gsize data_size;         /* bytes in the data section */
  guint64 length_field;    /* 0: the real header length */
  gssize file_len;         /* -1: the whole image; else cut to this */
  const char *expect;      /* text the message must contain */
} malformed_case;

static const malformed_case malformed[] = {
  { "empty file", "{}", -1, 0, 0, 0, "too short" },
  { "7-byte file", "{}", -1, 0, 0, 7, "too short" },
  { "header length past the end", "{}", -1, 16, 1000, -1, "past the end" },
  { "absurd header length", "{}", -1, 16, (guint64) 200 << 20, -1,
    "absurd" },
  { "header length near 2^64", "{}", -1, 16, G_MAXUINT64 - 3, -1, "absurd" },
  { "empty header", "", -1, 0, 0, -1, "not a JSON object" },
  { "invalid UTF-8", "{\"a\xff\":" ENTRY ("\"F32\"", "[1]", "[0,4]") "}",
    -1, 4, 0, -1, "UTF-8" },
  { "NUL inside the header", "{\"a\":\0}", 7, 0, 0, -1, "UTF-8" },
  { "truncated JSON", "{\"a\":" ENTRY ("\"F32\"", "[1]", "[0,4]"), -1, 4,
    0, -1, "not valid JSON" },
  { "JSON error quoting bad \\u text", "{\"k\\u00e\xc7\x86\" 1}", -1, 0, 0,
    -1, "not valid JSON" },
  { "name invalid after unescaping",
    "{\"\\udc00x\":" ENTRY ("\"F32\"", "[1]", "[0,4]") "}", -1, 4, 0, -1,
    "not valid UTF-8" },
  { "header is an array", "[1, 2]", -1, 0, 0, -1, "not a JSON object" },
  { "header is a string", "\"x\"", -1, 0, 0, -1, "not a JSON object" },
  { "two JSON objects", "{} {}", -1, 0, 0, -1, "after its JSON object" },
  { "comment in header", "{/* x */}", -1, 0, 0, -1, "comments" },
  { "single-quoted key", "{'a':1}", -1, 0, 0, -1, "single quotes" },
  { "deep nesting", "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]}",
    -1, 0, 0, -1, "nests deeper" },
  { "entry is a number", "{\"a\":5}", -1, 0, 0, -1, "not a JSON object" },
  { "entry is an array", "{\"a\":[0,4]}", -1, 4, 0, -1,
    "not a JSON object" },
  { "missing dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", -1,
    4, 0, -1, "no dtype" },
  { "dtype not a string", "{\"a\":" ENTRY ("4", "[1]", "[0,4]") "}", -1, 4,
    0, -1, "dtype is not a string" },
  { "unknown dtype", "{\"a\":" ENTRY ("\"F8_E4M3\"", "[1]", "[0,1]") "}", -1,
    4, 0, -1, "unsupported dtype 'F8_E4M3'" },
  { "lower-case dtype", "{\"a\":" ENTRY ("\"f32\"", "[1]", "[0,4]") "}", -1,
    4, 0, -1, "unsupported dtype" },
  { "missing shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}",
    -1, 4, 0, -1, "no shape" },
  { "shape not an array", "{\"a\":" ENTRY ("\"F32\"", "1", "[0,4]") "}", -1,
    4, 0, -1, "shape is not an array" },
  { "negative shape", "{\"a\":" ENTRY ("\"F32\"", "[-1]", "[0,4]") "}", -1,
    4, 0, -1, "shape entry 0" },
  { "fractional shape", "{\"a\":" ENTRY ("\"F32\"", "[1,2.5]", "[0,20]")
    "}", -1, 20, 0, -1, "shape entry 1" },
  { "string in shape", "{\"a\":" ENTRY ("\"F32\"", "[\"1\"]", "[0,4]") "}",
    -1, 4, 0, -1, "shape entry 0" },
  { "boolean in shape", "{\"a\":" ENTRY ("\"F32\"", "[true]", "[0,4]") "}",
    -1, 4, 0, -1, "shape entry 0" },
  { "shape beyond int64", "{\"a\":" ENTRY ("\"F32\"",
    "[18446744073709551617]", "[0,4]") "}", -1, 4, 0, -1, "shape entry 0" },
  { "shape product overflows",
    "{\"a\":" ENTRY ("\"F32\"", "[4294967296,4294967296,4]", "[0,4]") "}",
    -1, 4, 0, -1, "overflows" },
  { "byte count overflows",
    "{\"a\":" ENTRY ("\"F64\"", "[4611686018427387904]", "[0,0]") "}",
    -1, 4, 0, -1, "data range holds" },
  { "nine dimensions",
    "{\"a\":" ENTRY ("\"U8\"", "[1,1,1,1,1,1,1,1,1]", "[0,1]") "}", -1, 4,
    0, -1, "9 dimensions" },
  { "missing data_offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", -1,
    4, 0, -1, "no data_offsets" },
  { "one offset", "{\"a\":" ENTRY ("\"F32\"", "[1]", "[0]") "}", -1, 4, 0,
    -1, "two integers" },
  { "three offsets", "{\"a\":" ENTRY ("\"F32\"", "[1]", "[0,4,8]") "}", -1,
    8, 0, -1, "two integers" },
  { "offsets not integers", "{\"a\":" ENTRY ("\"F32\"", "[1]", "[0,4.0]")
    "}", -1, 4, 0, -1, "not non-negative integers" },
  { "negative offset", "{\"a\":" ENTRY ("\"F32\"", "[1]", "[-4,0]") "}",
    -1, 4, 0, -1, "not non-negative integers" },
  { "begin after end", "{\"a\":" ENTRY ("\"F32\"", "[0]", "[8,4]") "}", -1,
    8, 0, -1, "after it ends" },
  { "end beyond data", "{\"a\":" ENTRY ("\"F32\"", "[4]", "[0,16]") "}", -1,
    12, 0, -1, "beyond the data section" },
  { "size mismatch", "{\"a\":" ENTRY ("\"F32\"", "[3]", "[0,8]") "}", -1, 8,
    0, -1, "holds 8 bytes" },
  { "size mismatch F16", "{\"a\":" ENTRY ("\"F16\"", "[2,2]", "[0,16]") "}",
    -1, 16, 0, -1, "holds 16 bytes" },
  { "overlapping ranges",
    "{\"a\":" ENTRY ("\"F32\"", "[2]", "[0,8]") ","
    "\"b\":" ENTRY ("\"F32\"", "[2]", "[4,12]") "}", -1, 12, 0, -1,
    "overlap" },
  { "range inside another",
    "{\"a\":" ENTRY ("\"U8\"", "[2]", "[6,8]") ","
    "\"c\":" ENTRY ("\"U8\"", "[2]", "[10,12]") ","
    "\"b\":" ENTRY ("\"F32\"", "[4]", "[0,16]") "}", -1, 16, 0, -1,
    "overlap" },
  { "same range twice",
    "{\"a\":" ENTRY ("\"F32\"", "[1]", "[0,4]") ","
    "\"b\":" ENTRY ("\"I32\"", "[1]", "[0,4]") "}", -1, 4, 0, -1,
    "overlap" },
  { "duplicate tensor name",
    "{\"a\":" ENTRY ("\"F32\"", "[1]", "[0,4]") ","
    "\"a\":" ENTRY ("\"F32\"", "[1]", "[4,8]") "}", -1, 8, 0, -1,
    "'a' appears twice" },
  { "duplicate name, escaped spelling",
    "{\"a\":" ENTRY ("\"F32\"", "[1]", "[0,4]") ","
    "\"\\u0061\":" ENTRY ("\"F32\"", "[1]", "[4,8]") "}", -1, 8, 0, -1,
    "'a' appears twice" },
  { "duplicate field in entry",
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"shape\":[2],"
    "\"data_offsets\":[0,8]}}", -1, 8, 0, -1, "'shape' appears twice" },
  { "duplicate __metadata__",
    "{\"__metadata__\":{},\"__metadata__\":{}}", -1, 0, 0, -1,
    "appears twice" },
  { "duplicate metadata key",
    "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", -1, 0, 0, -1,
    "'k' appears twice" },
  { "unknown field", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
    "\"data_offsets\":[0,4],\"align\":8}}", -1, 4, 0, -1,
    "unknown field 'align'" },
  { "__metadata__ not an object", "{\"__metadata__\":[\"a\",\"b\"]}", -1, 0,
    0, -1, "__metadata__ is not" },
  { "__metadata__ null", "{\"__metadata__\":null}", -1, 0, 0, -1,
    "__metadata__ is not" },
  { "metadata value a number", "{\"__metadata__\":{\"epochs\":3}}", -1, 0, 0,
    -1, "'epochs' is not a string" },
  { "metadata invalid after unescaping",
    "{\"__metadata__\":{\"k\":\"\\udc00x\"}}", -1, 0, 0, -1,
    "not valid UTF-8" },
  { "metadata value an object", "{\"__metadata__\":{\"cfg\":{\"a\":\"b\"}}}",
    -1, 0, 0, -1, "'cfg' is not a string" },
};

static void
test_malformed (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      const malformed_case *c = &malformed[i];
      gsize header_len = c->header_len < 0 ? strlen (c->header)
                                           : (gsize) c->header_len;
      GByteArray *bytes = make_file (c->header, header_len, c->data_size);
      GError *error = NULL;
      dream_st_file *st;

      g_test_message ("malformed: %s", c->what);
      if (c->length_field)
        {
          guint64 le = GUINT64_TO_LE (c->length_field);

          memcpy (bytes->data, &le, 8);
        }
      if (c->file_len >= 0)
        g_byte_array_set_size (bytes, (guint) c->file_len);

      {
        guint8 *exact = exact_copy (bytes->data, bytes->len);

        st = dream_st_open_memory (exact, bytes->len, &error);
        g_free (exact);
      }
      if (st || !error || !g_error_matches (error, DREAM_ERROR,
                                            DREAM_ERROR_MODEL)
          || !g_utf8_validate (error->message, -1, NULL)
          || !strstr (error->message, c->expect)
          || !g_str_has_prefix (error->message, "(memory): "))
        g_error ("malformed file \"%s\" was not refused as expected: %s",
                 c->what, error ? error->message : "(opened)");
      g_clear_error (&error);
      g_byte_array_unref (bytes);
    }
  g_assert_cmpuint (G_N_ELEMENTS (malformed), >=, 20);
}

/* A header nested a million deep would overflow json-glib's stack. */
static void
test_deep_nesting (void)
{
  GString *header = g_string_new ("{\"a\":");
  GByteArray *bytes;
  GError *error = NULL;

  for (int i = 0; i < 1000000; i++)
    g_string_append_c (header, i % 2 ? '{' : '[');
  bytes = make_file (header->str, header->len, 0);
  g_assert_null (dream_st_open_memory (bytes->data, bytes->len, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_clear_error (&error);
  g_byte_array_unref (bytes);
  g_string_free (header, TRUE);
}

/* Names in messages are cut, so a huge name cannot flood the UI. */
static void
test_long_name_message (void)
{
  GString *header = g_string_new ("{\"");
  GByteArray *bytes;
  GError *error = NULL;

  for (int i = 0; i < 100000; i++)
    g_string_append (header, "\xc3\xa9");   /* é, two bytes */
  g_string_append (header, "\":5}");
  bytes = make_file (header->str, header->len, 0);
  g_assert_null (dream_st_open_memory (bytes->data, bytes->len, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_assert_cmpuint (strlen (error->message), <, 200);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_clear_error (&error);
  g_byte_array_unref (bytes);
  g_string_free (header, TRUE);
}

/* Holes between tensors and trailing bytes are allowed; an empty tensor
 * inside another one's range shares no byte with it. */
static void
test_accepted_oddities (void)
{
  static const char *const headers[] = {
    "{}",
    "  {\"__metadata__\":{}}  \n\t ",
    "{\"a\":" ENTRY ("\"U8\"", "[2]", "[4,6]") "}",
    "{\"a\":" ENTRY ("\"F32\"", "[2]", "[0,8]") ","
    "\"z\":" ENTRY ("\"F32\"", "[0]", "[4,4]") ","
    "\"y\":" ENTRY ("\"F32\"", "[3,0]", "[4,4]") "}",
    "{\"a\":" ENTRY ("\"F32\"", "[2]", "[8,16]") ","
    "\"b\":" ENTRY ("\"F32\"", "[2]", "[0,8]") "}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      GByteArray *bytes = make_file (headers[i], strlen (headers[i]), 20);
      GError *error = NULL;
      dream_st_file *st;

      st = dream_st_open_memory (bytes->data, bytes->len, &error);
      g_assert_no_error (error);
      g_assert_nonnull (st);
      dream_st_close (st);
      g_byte_array_unref (bytes);
    }
}

/* ---- a real file, whole and truncated ------------------------------------ */

static void
test_real_file (void)
{
  char *path = shared_data_path ("golden/vae/model.safetensors");
  char *dir, *cut_path, *contents;
  gsize length;
  GError *error = NULL;
  dream_st_file *st;
  const dream_st_tensor *t;
  guint64 header_len;
  gsize cuts[8];

  if (!path || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("no real safetensors file: set DREAM_SHARED_DATA to the "
                   "shared data folder holding golden/vae/model.safetensors");
      g_free (path);
      return;
    }

  st = dream_st_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dream_st_count (st), >, 10);
  g_assert_cmpstr (dream_st_metadata (st, "generator"), ==, "make_golden.py");
  t = dream_st_expect (st, "encoder.conv_in.weight", 4,
                       (int64_t[]) { 32, 3, 3, 3 }, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (t->n_bytes, ==, 32 * 3 * 3 * 3 * 4);
  for (int i = 0; i < dream_st_count (st); i++)
    {
      float *v = to_f32 (dream_st_get (st, i));

      for (int64_t k = 0; k < dream_st_get (st, i)->n_elements; k++)
        g_assert_true (isfinite (v[k]));
      g_free (v);
    }
  dream_st_close (st);

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  memcpy (&header_len, contents, 8);
  header_len = GUINT64_FROM_LE (header_len);
  g_assert_cmpuint (8 + header_len, <, length);
  cuts[0] = 0;
  cuts[1] = 5;
  cuts[2] = 8;
  cuts[3] = 100;
  cuts[4] = 8 + header_len - 1;
  cuts[5] = 8 + header_len;
  cuts[6] = 8 + header_len + (length - 8 - header_len) / 2;
  cuts[7] = length - 1;
  for (gsize i = 0; i < G_N_ELEMENTS (cuts); i++)
    {
      guint8 *exact = exact_copy (contents, cuts[i]);

      st = dream_st_open_memory (exact, cuts[i], &error);
      if (st || !g_error_matches (error, DREAM_ERROR, DREAM_ERROR_MODEL))
        g_error ("real file cut to %" G_GSIZE_FORMAT " bytes was not refused",
                 cuts[i]);
      g_test_message ("cut to %" G_GSIZE_FORMAT ": %s", cuts[i],
                      error->message);
      g_clear_error (&error);
      g_free (exact);
    }

  /* and through the mmap path */
  dir = g_dir_make_tmp ("dream-st-XXXXXX", NULL);
  cut_path = g_build_filename (dir, "cut.safetensors", NULL);
  g_assert_true (g_file_set_contents (cut_path, contents, (gssize) cuts[6],
                                      NULL));
  g_assert_null (dream_st_open (cut_path, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_assert_nonnull (strstr (error->message, "cut.safetensors: "));
  g_assert_nonnull (strstr (error->message, "truncated"));
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (cut_path, "", 0, NULL));
  g_assert_null (dream_st_open (cut_path, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_clear_error (&error);
  g_unlink (cut_path);
  g_rmdir (dir);

  g_free (cut_path);
  g_free (dir);
  g_free (contents);
  g_free (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/safetensors/dtypes", test_dtypes);
  g_test_add_func ("/safetensors/read/hand-made", test_read_hand_made);
  g_test_add_func ("/safetensors/read/accepted-oddities",
                   test_accepted_oddities);
  g_test_add_func ("/safetensors/convert/f16", test_f16);
  g_test_add_func ("/safetensors/convert/bf16", test_bf16);
  g_test_add_func ("/safetensors/convert/f64-f32", test_f64_f32);
  g_test_add_func ("/safetensors/expect", test_expect);
  g_test_add_func ("/safetensors/write/round-trip", test_round_trip);
  g_test_add_func ("/safetensors/write/invalid", test_write_invalid);
  g_test_add_func ("/safetensors/malformed/table", test_malformed);
  g_test_add_func ("/safetensors/malformed/deep-nesting", test_deep_nesting);
  g_test_add_func ("/safetensors/malformed/long-name",
                   test_long_name_message);
  g_test_add_func ("/safetensors/real-file", test_real_file);

  return g_test_run ();
}

/* tokenizer.c — CLIP's BPE tokenizer and text clean-up (see tokenizer.h).
 *
 * Symbols are vocabulary ids throughout: every string BPE can produce is
 * in the vocabulary (the 512 byte symbols and one string per merge), so a
 * word is an array of ids and a merge is a lookup of the id pair
 * (a << 32 | b) -> (rank, id of the joined string).
 */
#include "models/tokenizer.h"
#include "models/html_entities.h"
#include "dream.h"
#include "dream-config.h"

#include <gio/gio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
  N_MERGES = 49152 - 256 - 2,     /* merges the original reads: 48,894 */
  MAX_PIECE_BYTES = 4096,         /* longer pieces are split (never in text) */
};

typedef struct {
  gint64 key;                     /* (a << 32) | b */
  gint32 rank;
  gint32 merged;                  /* id of the joined string */
} bpe_merge;

struct dream_tokenizer {
  char *strings[DREAM_CLIP_VOCAB_SIZE];  /* id -> UTF-8 token, in `chunk` */
  GStringChunk *chunk;
  GHashTable *encoder;                   /* string -> id + 1 */
  bpe_merge *merges;                     /* N_MERGES */
  GHashTable *ranks;                     /* &merge.key -> merge */
  gint32 byte_id[256];                   /* byte -> id of its symbol */
  gint32 byte_id_end[256];               /* byte -> id of symbol + "</w>" */
  gunichar byte_char[256];               /* byte -> printable stand-in */
  GHashTable *char_byte;                 /* stand-in char -> byte + 1 */
};

/* ---- loading ----------------------------------------------------------- */

/* The original's bytes_to_unicode(): printable Latin-1 bytes stand for
 * themselves, the others for 256 + n in byte order. order[i] is the byte
 * of vocabulary id i. */
static void
byte_table (gunichar byte_char[256], int order[256])
{
  int n = 0, k = 0;
  gboolean printable[256] = { FALSE };
  for (int b = '!'; b <= '~'; b++)
    printable[b] = TRUE;
  for (int b = 0xA1; b <= 0xAC; b++)
    printable[b] = TRUE;
  for (int b = 0xAE; b <= 0xFF; b++)
    printable[b] = TRUE;
  for (int b = 0; b < 256; b++)
    if (printable[b])
      {
        byte_char[b] = (gunichar) b;
        order[k++] = b;
      }
  for (int b = 0; b < 256; b++)
    if (!printable[b])
      {
        byte_char[b] = (gunichar) (256 + n++);
        order[k++] = b;
      }
}

static char *
find_vocab (GError **error)
{
  const char *env = g_getenv ("DREAM_MODELS_DIR");
  char *dirs[4] = {
    g_strdup (env),
    g_build_filename (g_get_user_data_dir (), "dreamlayer", "models", NULL),
    g_strdup (DREAM_MODELS_INSTALLED),
    g_strdup (DREAM_MODELS_SOURCE),
  };
  char *found = NULL;
  for (int i = 0; i < 4 && !found; i++)
    {
      if (!dirs[i] || !*dirs[i])
        continue;
      char *p = g_build_filename (dirs[i], DREAM_CLIP_VOCAB_FILE, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
        found = p;
      else
        g_free (p);
    }
  if (!found)
    g_set_error (error, DREAM_ERROR, DREAM_ERROR_IO,
                 "CLIP vocabulary %s not found (looked in $DREAM_MODELS_DIR, %s, %s)",
                 DREAM_CLIP_VOCAB_FILE, dirs[1], dirs[2]);
  for (int i = 0; i < 4; i++)
    g_free (dirs[i]);
  return found;
}

/* The whole file, gunzipped if it is gzip. */
static GBytes *
read_vocab_file (const char *path, GError **error)
{
  char *raw = NULL;
  gsize len = 0;
  GError *local = NULL;
  if (!g_file_get_contents (path, &raw, &len, &local))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_IO, "%s", local->message);
      g_error_free (local);
      return NULL;
    }
  if (len < 2 || (guint8) raw[0] != 0x1f || (guint8) raw[1] != 0x8b)
    return g_bytes_new_take (raw, len);

  GZlibDecompressor *z = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  GInputStream *mem = g_memory_input_stream_new_from_data (raw, len, g_free);
  GInputStream *in = g_converter_input_stream_new (mem, G_CONVERTER (z));
  GByteArray *out = g_byte_array_new ();
  guint8 buf[65536];
  gssize got;
  while ((got = g_input_stream_read (in, buf, sizeof buf, NULL, &local)) > 0)
    g_byte_array_append (out, buf, (guint) got);
  g_object_unref (in);
  g_object_unref (mem);
  g_object_unref (z);
  if (got < 0)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s: not a valid gzip file (%s)", path, local->message);
      g_error_free (local);
      g_byte_array_unref (out);
      return NULL;
    }
  return g_byte_array_free_to_bytes (out);
}

/* g_strsplit (text, "\n", max) with memchr: g_strsplit's strstr is
 * rescanned to the end of the text at each line under AddressSanitizer
 * (its interceptor measures the haystack), minutes for a vocabulary. */
static char **
split_lines (const char *text, int max)
{
  GPtrArray *out = g_ptr_array_new ();
  const char *p = text, *end = text + strlen (text);
  while ((int) out->len + 1 < max)
    {
      const char *nl = memchr (p, '\n', (size_t) (end - p));
      if (!nl)
        break;
      g_ptr_array_add (out, g_strndup (p, (gsize) (nl - p)));
      p = nl + 1;
    }
  g_ptr_array_add (out, g_strdup (p));
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

static gint32
lookup (const dream_tokenizer *tok, const char *s)
{
  gpointer v = g_hash_table_lookup (tok->encoder, s);
  return v ? GPOINTER_TO_INT (v) - 1 : -1;
}

dream_tokenizer *
dream_tokenizer_load (const char *path, GError **error)
{
  char *found = path ? g_strdup (path) : find_vocab (error);
  if (!found)
    return NULL;
  GBytes *bytes = read_vocab_file (found, error);
  if (!bytes)
    {
      g_free (found);
      return NULL;
    }
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);
  char *text = g_strndup (data, size);
  g_bytes_unref (bytes);
  char *base = g_path_get_basename (found);
  g_free (found);

  dream_tokenizer *tok = g_new0 (dream_tokenizer, 1);
  tok->chunk = g_string_chunk_new (1 << 20);
  tok->encoder = g_hash_table_new (g_str_hash, g_str_equal);
  tok->char_byte = g_hash_table_new (NULL, NULL);
  tok->ranks = g_hash_table_new (g_int64_hash, g_int64_equal);
  tok->merges = g_new0 (bpe_merge, N_MERGES);

  int order[256];
  byte_table (tok->byte_char, order);
  for (int b = 0; b < 256; b++)
    g_hash_table_insert (tok->char_byte, GUINT_TO_POINTER (tok->byte_char[b]),
                         GINT_TO_POINTER (b + 1));

  /* vocabulary strings, in id order; the encoder keeps the last id of a
   * string, as Python's dict(zip(vocab, range)) does */
  int id = 0;
  for (int i = 0; i < 256; i++, id++)
    {
      char s[8] = { 0 };
      g_unichar_to_utf8 (tok->byte_char[order[i]], s);
      tok->strings[id] = g_string_chunk_insert (tok->chunk, s);
    }
  for (int i = 0; i < 256; i++, id++)
    {
      char s[16] = { 0 };
      int n = g_unichar_to_utf8 (tok->byte_char[order[i]], s);
      memcpy (s + n, "</w>", 5);
      tok->strings[id] = g_string_chunk_insert (tok->chunk, s);
    }

  char **lines = split_lines (text, N_MERGES + 2);
  g_free (text);
  int n_lines = (int) g_strv_length (lines);
  char ***parts = g_new0 (char **, N_MERGES);
  if (n_lines < N_MERGES + 1)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s: not a CLIP BPE vocabulary (%d lines, needs %d merges)",
                   base, n_lines, N_MERGES);
      g_strfreev (lines);
      g_free (parts);
      goto fail;
    }
  for (int i = 0; i < N_MERGES; i++)
    {
      char **p = g_strsplit_set (g_strstrip (lines[i + 1]), " \t", -1);
      int np = 0;
      for (int k = 0; p[k]; k++)
        if (*p[k])
          p[np++] = p[k];
        else
          g_free (p[k]);
      p[np] = NULL;
      if (np != 2 || !g_utf8_validate (p[0], -1, NULL) || !g_utf8_validate (p[1], -1, NULL))
        {
          g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                       "%s: line %d is not a merge \"a b\"", base, i + 2);
          g_strfreev (p);
          for (int k = 0; k < i; k++)
            g_strfreev (parts[k]);
          g_strfreev (lines);
          g_free (parts);
          goto fail;
        }
      parts[i] = p;
      char *joined = g_strconcat (p[0], p[1], NULL);
      tok->strings[id++] = g_string_chunk_insert (tok->chunk, joined);
      g_free (joined);
    }
  g_strfreev (lines);
  tok->strings[id++] = g_string_chunk_insert (tok->chunk, "<|startoftext|>");
  tok->strings[id++] = g_string_chunk_insert (tok->chunk, "<|endoftext|>");
  g_assert (id == DREAM_CLIP_VOCAB_SIZE);
  for (int i = 0; i < DREAM_CLIP_VOCAB_SIZE; i++)
    g_hash_table_insert (tok->encoder, tok->strings[i], GINT_TO_POINTER (i + 1));

  for (int b = 0; b < 256; b++)
    {
      char s[16] = { 0 };
      int n = g_unichar_to_utf8 (tok->byte_char[b], s);
      tok->byte_id[b] = lookup (tok, s);
      memcpy (s + n, "</w>", 5);
      tok->byte_id_end[b] = lookup (tok, s);
    }

  /* merge ranks; a later duplicate pair wins, as in the original's dict */
  gboolean ok = TRUE;
  for (int i = 0; i < N_MERGES; i++)
    {
      gint32 a = lookup (tok, parts[i][0]), b = lookup (tok, parts[i][1]);
      char *joined = g_strconcat (parts[i][0], parts[i][1], NULL);
      gint32 m = lookup (tok, joined);
      g_free (joined);
      if (a < 0 || b < 0 || m < 0)
        ok = FALSE;
      else
        {
          bpe_merge *e = &tok->merges[i];
          e->key = ((gint64) a << 32) | b;
          e->rank = i;
          e->merged = m;
          g_hash_table_insert (tok->ranks, &e->key, e);
        }
      g_strfreev (parts[i]);
    }
  g_free (parts);
  if (!ok)
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "%s: a merge uses a symbol no earlier merge made", base);
      goto fail;
    }
  g_free (base);
  return tok;

fail:
  g_free (base);
  dream_tokenizer_free (tok);
  return NULL;
}

void
dream_tokenizer_free (dream_tokenizer *tok)
{
  if (!tok)
    return;
  g_hash_table_destroy (tok->encoder);
  g_hash_table_destroy (tok->ranks);
  g_hash_table_destroy (tok->char_byte);
  g_string_chunk_free (tok->chunk);
  g_free (tok->merges);
  g_free (tok);
}

const char *
dream_tokenizer_token (const dream_tokenizer *tok, int id)
{
  return id >= 0 && id < DREAM_CLIP_VOCAB_SIZE ? tok->strings[id] : NULL;
}

/* ---- text clean-up ----------------------------------------------------- */

/* Python's str.isspace() / regex \s (Unicode White_Space) */
static gboolean
is_white_space (gunichar c)
{
  if ((c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85)
    return TRUE;
  GUnicodeType t = g_unichar_type (c);
  return t == G_UNICODE_SPACE_SEPARATOR || t == G_UNICODE_LINE_SEPARATOR
         || t == G_UNICODE_PARAGRAPH_SEPARATOR;
}

static gboolean
is_py_space (gunichar c)   /* str.strip(): also the 0x1C..0x1F separators */
{
  return is_white_space (c) || (c >= 0x1C && c <= 0x1F);
}

static gboolean
is_number (gunichar c)
{
  GUnicodeType t = g_unichar_type (c);
  return t == G_UNICODE_DECIMAL_NUMBER || t == G_UNICODE_LETTER_NUMBER
         || t == G_UNICODE_OTHER_NUMBER;
}

static gboolean
is_ascii_alnum (char c)
{
  return g_ascii_isalnum (c);
}

static int
entity_cmp (const void *key, const void *elem)
{
  return strcmp (key, ((const dream_html_entity *) elem)->name);
}

static const char *
html5_lookup (const char *name)
{
  const dream_html_entity *e =
    bsearch (name, dream_html5_entities, G_N_ELEMENTS (dream_html5_entities),
             sizeof (dream_html_entity), entity_cmp);
  return e ? e->text : NULL;
}

/* Python's html: replacements for numeric references of the C1 range,
 * 0 and CR (its _invalid_charrefs). */
static const gunichar c1_windows_1252[32] = {
  0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
  0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
  0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
  0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
};

/* Appends what a numeric reference with value num decodes to. */
static void
append_charref (GString *out, guint64 num)
{
  if (num == 0)
    g_string_append_unichar (out, 0xFFFD);
  else if (num == 0x0D)
    g_string_append_c (out, '\r');
  else if (num >= 0x80 && num <= 0x9F)
    g_string_append_unichar (out, c1_windows_1252[num - 0x80]);
  else if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF)
    g_string_append_unichar (out, 0xFFFD);
  else if ((num >= 0x01 && num <= 0x08) || (num >= 0x0E && num <= 0x1F)
           || num == 0x0B || num == 0x7F || (num >= 0xFDD0 && num <= 0xFDEF)
           || (num & 0xFFFE) == 0xFFFE)
    ;  /* invalid code points decode to nothing */
  else
    g_string_append_unichar (out, (gunichar) num);
}

/* Parses "#123;" / "#x1F;" (';' optional) after an '&'. Returns the bytes
 * used (0 if it is not a numeric reference) and the value (capped). */
static size_t
parse_charref (const char *s, guint64 *num)
{
  size_t i = 1;
  int base = 10;
  if (s[0] != '#')
    return 0;
  if ((s[1] == 'x' || s[1] == 'X') && g_ascii_isxdigit (s[2]))
    {
      base = 16;
      i = 2;
    }
  else if (!g_ascii_isdigit (s[1]))
    return 0;
  guint64 v = 0;
  for (; base == 16 ? g_ascii_isxdigit (s[i]) : g_ascii_isdigit (s[i]); i++)
    {
      int d = g_ascii_xdigit_value (s[i]);
      v = v > 0x7FFFFFFF ? v : v * base + d;   /* saturate far above 0x10FFFF */
    }
  if (s[i] == ';')
    i++;
  *num = v;
  return i;
}

/* Python's html.unescape(): numeric references, and named ones (up to 32
 * characters, ';' optional), the longest known prefix of an unknown name
 * decoding with the rest kept. */
static char *
html_unescape (const char *s)
{
  if (!strchr (s, '&'))
    return g_strdup (s);
  GString *out = g_string_sized_new (strlen (s));
  const char *p = s;
  while (*p)
    {
      if (*p != '&')
        {
          g_string_append_c (out, *p++);
          continue;
        }
      guint64 num;
      size_t used = parse_charref (p + 1, &num);
      if (used)
        {
          append_charref (out, num);
          p += 1 + used;
          continue;
        }
      /* named: [^\t\n\f <&#;]{1,32};? */
      const char *q = p + 1;
      int n_chars = 0;
      while (*q && n_chars < 32 && !strchr ("\t\n\f <&#;", *q))
        {
          q = g_utf8_next_char (q);
          n_chars++;
        }
      if (n_chars == 0)
        {
          g_string_append_c (out, *p++);
          continue;
        }
      if (*q == ';')
        q++;
      char *name = g_strndup (p + 1, q - (p + 1));
      const char *text = html5_lookup (name);
      if (text)
        g_string_append (out, text);
      else
        {
          /* prefixes of len(name) − 1 down to 2 characters */
          const char *end = g_utf8_find_prev_char (name, name + strlen (name));
          gboolean done = FALSE;
          for (; end && g_utf8_strlen (name, end - name) >= 2;
               end = g_utf8_find_prev_char (name, end))
            {
              char *prefix = g_strndup (name, end - name);
              const char *t = html5_lookup (prefix);
              g_free (prefix);
              if (t)
                {
                  g_string_append (out, t);
                  g_string_append (out, end);
                  done = TRUE;
                  break;
                }
            }
          if (!done)
            {
              g_string_append_c (out, '&');
              g_string_append (out, name);
            }
        }
      g_free (name);
      p = q;
    }
  return g_string_free (out, FALSE);
}

/* ftfy's unescape_html: only "&#?[0-9A-Za-z]{1,24};", looked up among the
 * named references with ';' and their upper-cased forms; numeric ones
 * through html.unescape unless that leaves a ';'. */
static char *
ftfy_unescape_html (const char *s)
{
  GString *out = g_string_sized_new (strlen (s));
  const char *p = s;
  while (*p)
    {
      if (*p == '&')
        {
          const char *q = p + 1;
          if (*q == '#')
            q++;
          const char *a = q;
          while (is_ascii_alnum (*q))
            q++;
          size_t n = q - a;
          if (n >= 1 && n <= 24 && *q == ';')
            {
              char *match = g_strndup (p, q + 1 - p);   /* "&...;" */
              const char *text = NULL;
              if (match[1] != '#')
                {
                  text = html5_lookup (match + 1);
                  if (!text)
                    {
                      const dream_html_entity *e =
                        bsearch (match + 1, dream_html5_upper_entities,
                                 G_N_ELEMENTS (dream_html5_upper_entities),
                                 sizeof (dream_html_entity), entity_cmp);
                      text = e ? e->text : NULL;
                    }
                  g_string_append (out, text ? text : match);
                }
              else
                {
                  char *u = html_unescape (match);
                  g_string_append (out, strchr (u, ';') ? match : u);
                  g_free (u);
                }
              g_free (match);
              p = q + 1;
              continue;
            }
        }
      g_string_append_c (out, *p++);
    }
  return g_string_free (out, FALSE);
}

/* Windows-1252 as ftfy's "sloppy" codec: 0x80..0x9F, the five holes
 * decoding to the C1 control of the same value. */
static gunichar
sloppy_1252_char (guint8 b)
{
  return b >= 0x80 && b <= 0x9F ? c1_windows_1252[b - 0x80] : b;
}

static int
sloppy_1252_byte (gunichar c)
{
  if (c < 0x80 || (c >= 0xA0 && c <= 0xFF))
    return (int) c;
  for (int i = 0; i < 32; i++)
    if (c1_windows_1252[i] == c)
      return 0x80 + i;
  return -1;
}

/* Encodes s in Latin-1 (latin1) or sloppy Windows-1252; NULL if a
 * character does not fit. */
static GString *
encode_single_byte (const char *s, gboolean latin1)
{
  GString *b = g_string_new (NULL);
  for (const char *p = s; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      int v = latin1 ? (c <= 0xFF ? (int) c : -1) : sloppy_1252_byte (c);
      if (v < 0)
        {
          g_string_free (b, TRUE);
          return NULL;
        }
      g_string_append_c (b, (char) v);
    }
  return b;
}

/* A stand-in for ftfy's badness score: a character that would be a UTF-8
 * lead byte (Â..ô in Latin-1) followed by one that would be a
 * continuation byte (0x80..0xBF in Windows-1252), as in "Ã©" or "â€™";
 * or a C1 control character. */
static gboolean
looks_like_mojibake (const char *s)
{
  gunichar prev = 0;
  for (const char *p = s; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (c >= 0x80 && c <= 0x9F)
        return TRUE;
      int b = sloppy_1252_byte (c);
      if (prev >= 0xC2 && prev <= 0xF4 && b >= 0x80 && b <= 0xBF)
        return TRUE;
      prev = c;
    }
  return FALSE;
}

static gboolean
is_ascii (const char *s)
{
  for (; *s; s++)
    if ((guint8) *s >= 0x80)
      return FALSE;
  return TRUE;
}

/* One step of ftfy's fix_encoding; returns a new string or NULL when
 * nothing changes. */
static char *
fix_encoding_step (const char *s)
{
  if (is_ascii (s) || !looks_like_mojibake (s))
    return NULL;
  for (int latin1 = 1; latin1 >= 0; latin1--)
    {
      GString *b = encode_single_byte (s, latin1);
      if (!b)
        continue;
      gboolean valid = g_utf8_validate (b->str, b->len, NULL) && !memchr (b->str, 0, b->len);
      if (valid && strcmp (b->str, s) != 0)
        return g_string_free (b, FALSE);
      g_string_free (b, TRUE);
    }
  /* Latin-1 text with C1 controls meant as Windows-1252 */
  GString *b = encode_single_byte (s, TRUE);
  if (b)
    {
      GString *o = g_string_new (NULL);
      gboolean ok = TRUE;
      for (gsize i = 0; i < b->len && ok; i++)
        {
          guint8 v = (guint8) b->str[i];
          gunichar c = sloppy_1252_char (v);
          if (v >= 0x80 && v <= 0x9F && c == v)
            ok = FALSE;  /* a hole of strict Windows-1252 */
          g_string_append_unichar (o, c);
        }
      g_string_free (b, TRUE);
      if (ok && strcmp (o->str, s) != 0)
        return g_string_free (o, FALSE);
      g_string_free (o, TRUE);
    }
  return NULL;
}

static char *
fix_encoding (const char *s)
{
  char *cur = g_strdup (s), *next;
  while ((next = fix_encoding_step (cur)))
    {
      g_free (cur);
      cur = next;
    }
  return cur;
}

static const struct { gunichar c; const char *s; } latin_ligatures[] = {
  { 0x0132, "IJ" }, { 0x0133, "ij" }, { 0x0149, "\xca\xbcn" },
  { 0x01F1, "DZ" }, { 0x01F2, "Dz" }, { 0x01F3, "dz" },
  { 0x01C4, "D\xc5\xbd" }, { 0x01C5, "D\xc5\xbe" }, { 0x01C6, "d\xc5\xbe" },
  { 0x01C7, "LJ" }, { 0x01C8, "Lj" }, { 0x01C9, "lj" },
  { 0x01CA, "NJ" }, { 0x01CB, "Nj" }, { 0x01CC, "nj" },
  { 0xFB00, "ff" }, { 0xFB01, "fi" }, { 0xFB02, "fl" }, { 0xFB03, "ffi" },
  { 0xFB04, "ffl" }, { 0xFB05, "\xc5\xbft" }, { 0xFB06, "st" },
};

static gboolean
is_removed_control (gunichar c)
{
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F
         || (c >= 0x206A && c <= 0x206F) || c == 0xFEFF
         || (c >= 0xFFF9 && c <= 0xFFFC);
}

/* The character-level fixers, in ftfy's order: C1 controls, ligatures,
 * width, quotes, line breaks, terminal escapes, control characters. */
static char *
fix_characters (const char *s)
{
  GString *a = g_string_sized_new (strlen (s));
  for (const char *p = s; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (c >= 0x80 && c <= 0x9F)
        c = sloppy_1252_char ((guint8) c);                 /* fix_c1_controls */
      gboolean done = FALSE;
      for (size_t i = 0; i < G_N_ELEMENTS (latin_ligatures) && !done; i++)
        if (latin_ligatures[i].c == c)
          {
            g_string_append (a, latin_ligatures[i].s);     /* fix_latin_ligatures */
            done = TRUE;
          }
      if (done)
        continue;
      if (c == 0x3000)
        c = ' ';                                           /* fix_character_width */
      else if (c >= 0xFF01 && c <= 0xFFEF)
        {
          char u[8] = { 0 };
          g_unichar_to_utf8 (c, u);
          char *n = g_utf8_normalize (u, -1, G_NORMALIZE_NFKC);
          g_string_append (a, n ? n : u);
          g_free (n);
          continue;
        }
      if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B))
        c = '\'';                                          /* uncurl_quotes */
      else if (c >= 0x201C && c <= 0x201F)
        c = '"';
      g_string_append_unichar (a, c);
    }

  /* fix_line_breaks */
  GString *b = g_string_sized_new (a->len);
  for (const char *p = a->str; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (c == '\r' && p[1] == '\n')
        continue;
      if (c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85)
        c = '\n';
      g_string_append_unichar (b, c);
    }
  g_string_free (a, TRUE);

  /* remove_terminal_escapes: ESC [ (digits | ;)* letter; then
   * remove_control_chars */
  GString *c = g_string_sized_new (b->len);
  for (const char *p = b->str; *p;)
    {
      if (p[0] == 0x1B && p[1] == '[')
        {
          const char *q = p + 2;
          while (*q == ';' || g_unichar_isdigit (g_utf8_get_char (q)))
            q = g_utf8_next_char (q);
          if (g_ascii_isalpha (*q))
            {
              p = q + 1;
              continue;
            }
        }
      gunichar ch = g_utf8_get_char (p);
      if (!is_removed_control (ch))
        g_string_append_unichar (c, ch);
      p = g_utf8_next_char (p);
    }
  g_string_free (b, TRUE);
  return g_string_free (c, FALSE);
}

/* ftfy's fix_and_explain on one line: the fixers until nothing changes. */
static char *
ftfy_fix_segment (const char *seg, gboolean unescape)
{
  char *text = g_strdup (seg);
  for (int round = 0; round < 16; round++)
    {
      char *orig = g_strdup (text), *t;
      if (unescape)
        {
          t = ftfy_unescape_html (text);
          g_free (text);
          text = t;
        }
      t = fix_encoding (text);
      g_free (text);
      text = fix_characters (t);
      g_free (t);
      t = g_utf8_normalize (text, -1, G_NORMALIZE_NFC);
      if (t)
        {
          g_free (text);
          text = t;
        }
      gboolean same = strcmp (orig, text) == 0;
      g_free (orig);
      if (same)
        break;
    }
  return text;
}

/* ftfy.fix_text: line by line; once a line holds '<' (HTML), no more
 * unescaping from it on. */
static char *
ftfy_fix_text (const char *s)
{
  GString *out = g_string_sized_new (strlen (s));
  gboolean unescape = TRUE;
  const char *p = s;
  while (*p)
    {
      const char *nl = strchr (p, '\n');
      const char *end = nl ? nl + 1 : p + strlen (p);
      char *seg = g_strndup (p, end - p);
      if (unescape && strchr (seg, '<'))
        unescape = FALSE;
      char *fixed = ftfy_fix_segment (seg, unescape);
      g_string_append (out, fixed);
      g_free (fixed);
      g_free (seg);
      p = end;
    }
  return g_string_free (out, FALSE);
}

/* Python's strip(): a new string without leading/trailing space. */
static char *
py_strip (const char *s)
{
  const char *b = s;
  while (*b && is_py_space (g_utf8_get_char (b)))
    b = g_utf8_next_char (b);
  const char *e = b + strlen (b);
  while (e > b)
    {
      const char *prev = g_utf8_find_prev_char (b, e);
      if (!prev || !is_py_space (g_utf8_get_char (prev)))
        break;
      e = prev;
    }
  return g_strndup (b, e - b);
}

static gboolean
is_cased (gunichar c)
{
  GUnicodeType t = g_unichar_type (c);
  return t == G_UNICODE_UPPERCASE_LETTER || t == G_UNICODE_LOWERCASE_LETTER
         || t == G_UNICODE_TITLECASE_LETTER
         || g_unichar_tolower (c) != c || g_unichar_toupper (c) != c;
}

static gboolean
is_case_ignorable (gunichar c)
{
  GUnicodeType t = g_unichar_type (c);
  return t == G_UNICODE_NON_SPACING_MARK || t == G_UNICODE_ENCLOSING_MARK
         || t == G_UNICODE_FORMAT || t == G_UNICODE_MODIFIER_LETTER
         || t == G_UNICODE_MODIFIER_SYMBOL
         || c == '\'' || c == '.' || c == ':' || c == 0xB7 || c == 0x387
         || c == 0x2018 || c == 0x2019 || c == 0x2024 || c == 0x2027;
}

/* Python's str.lower(): full lower-case mapping, independent of the
 * locale (g_utf8_strdown would follow a Turkish locale): U+0130 becomes
 * "i̇", capital sigma is final sigma at the end of a word. */
static char *
py_lower (const char *s)
{
  glong n = 0;
  gunichar *u = g_utf8_to_ucs4_fast (s, -1, &n);
  GString *out = g_string_sized_new (strlen (s));
  for (glong i = 0; i < n; i++)
    {
      gunichar c = u[i];
      if (c == 0x130)
        {
          g_string_append (out, "i\xcc\x87");
          continue;
        }
      if (c == 0x3A3)
        {
          glong j = i - 1;
          while (j >= 0 && is_case_ignorable (u[j]))
            j--;
          gboolean final = j >= 0 && is_cased (u[j]);
          if (final)
            {
              j = i + 1;
              while (j < n && is_case_ignorable (u[j]))
                j++;
              final = j == n || !is_cased (u[j]);
            }
          g_string_append_unichar (out, final ? 0x3C2 : 0x3C3);
          continue;
        }
      if ((c >= 0x2160 && c <= 0x216F) || (c >= 0x24B6 && c <= 0x24CF))
        c += c < 0x2170 ? 0x10 : 26;   /* Roman numerals, circled letters: */
      else                               /* cased, but not letters to GLib */
        c = g_unichar_tolower (c);
      g_string_append_unichar (out, c);
    }
  g_free (u);
  return g_string_free (out, FALSE);
}

char *
dream_clip_clean_text (const char *text)
{
  char *valid = g_utf8_make_valid (text ? text : "", -1);
  /* basic_clean: ftfy, html.unescape twice, strip */
  char *a = ftfy_fix_text (valid);
  char *b = html_unescape (a);
  char *c = html_unescape (b);
  char *d = py_strip (c);
  g_free (valid); g_free (a); g_free (b); g_free (c);

  /* whitespace_clean: \s+ -> ' ', strip; then lower() */
  GString *w = g_string_sized_new (strlen (d));
  gboolean in_space = FALSE;
  for (const char *p = d; *p; p = g_utf8_next_char (p))
    {
      gunichar ch = g_utf8_get_char (p);
      if (is_white_space (ch))
        {
          if (!in_space)
            g_string_append_c (w, ' ');
          in_space = TRUE;
          continue;
        }
      in_space = FALSE;
      g_string_append_unichar (w, ch);
    }
  g_free (d);
  char *e = py_strip (w->str);
  g_string_free (w, TRUE);
  char *lower = py_lower (e);
  g_free (e);
  return lower;
}

/* ---- BPE --------------------------------------------------------------- */

static const bpe_merge *
find_merge (const dream_tokenizer *tok, gint32 a, gint32 b)
{
  gint64 key = ((gint64) a << 32) | b;
  return g_hash_table_lookup (tok->ranks, &key);
}

/* Appends the ids of one piece (UTF-8 bytes s[0..n)) to ids.
 *
 * The original's loop: while some adjacent pair of symbols is a merge,
 * join every occurrence of the lowest-ranked such pair, left to right.
 * The rank of each adjacent pair is kept in pair[] and looked up again
 * only where a join changed a neighbour, so a step costs a scan of
 * integers, not a hash lookup per pair (a 4 KiB piece of one repeated
 * letter takes thousands of steps). */
static void
bpe_piece (const dream_tokenizer *tok, const guint8 *s, size_t n, GArray *ids)
{
  gint32 *w = g_new (gint32, n);                          /* (len) symbols */
  const bpe_merge **pair = g_new (const bpe_merge *, n);  /* (len − 1) merge of w[i], w[i+1] */
  size_t *src = g_new (size_t, n);   /* (len) where w[o] was before the step; SIZE_MAX: joined */
  for (size_t i = 0; i < n; i++)
    w[i] = i + 1 == n ? tok->byte_id_end[s[i]] : tok->byte_id[s[i]];
  size_t len = n;
  for (size_t i = 0; i + 1 < len; i++)
    pair[i] = find_merge (tok, w[i], w[i + 1]);
  while (len > 1)
    {
      const bpe_merge *best = NULL;
      for (size_t i = 0; i + 1 < len; i++)
        if (pair[i] && (!best || pair[i]->rank < best->rank))
          best = pair[i];
      if (!best)
        break;
      size_t o = 0;
      for (size_t i = 0; i < len; o++)
        if (i + 1 < len && pair[i] == best)
          {
            w[o] = best->merged;
            src[o] = SIZE_MAX;
            i += 2;
          }
        else
          {
            w[o] = w[i];
            src[o] = i++;
          }
      len = o;
      /* A pair of two untouched neighbours keeps its rank (src[o] ≥ o, so
       * pair[src[o]] is read before anything overwrites it); only pairs
       * with a joined symbol are looked up again. */
      for (size_t i = 0; i + 1 < len; i++)
        if (src[i] != SIZE_MAX && src[i + 1] == src[i] + 1)
          pair[i] = pair[src[i]];
        else
          pair[i] = find_merge (tok, w[i], w[i + 1]);
    }
  g_array_append_vals (ids, w, (guint) len);
  g_free (src);
  g_free (pair);
  g_free (w);
}

static gboolean
starts_with_contraction (const char *p, size_t *len)
{
  /* 's|'t|'re|'ve|'m|'ll|'d, case-insensitive */
  static const char *const forms[] = { "s", "t", "re", "ve", "m", "ll", "d" };
  if (p[0] != '\'')
    return FALSE;
  for (size_t i = 0; i < G_N_ELEMENTS (forms); i++)
    if (g_ascii_strncasecmp (p + 1, forms[i], strlen (forms[i])) == 0)
      {
        *len = 1 + strlen (forms[i]);
        return TRUE;
      }
  return FALSE;
}

gint32 *
dream_tokenizer_encode (const dream_tokenizer *tok, const char *text,
                        int *n_ids)
{
  char *clean = dream_clip_clean_text (text);
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  const char *p = clean;
  while (*p)
    {
      static const char sot[] = "<|startoftext|>", eot[] = "<|endoftext|>";
      size_t len = 0;
      if (strncmp (p, sot, sizeof sot - 1) == 0 || strncmp (p, eot, sizeof eot - 1) == 0)
        {
          gint32 id = p[2] == 's' ? DREAM_CLIP_SOT : DREAM_CLIP_EOT;
          g_array_append_val (ids, id);
          p += p[2] == 's' ? sizeof sot - 1 : sizeof eot - 1;
          continue;
        }
      gunichar c = g_utf8_get_char (p);
      const char *q = g_utf8_next_char (p);
      if (starts_with_contraction (p, &len))
        q = p + len;
      else if (g_unichar_isalpha (c))
        while (*q && g_unichar_isalpha (g_utf8_get_char (q)))
          q = g_utf8_next_char (q);
      else if (is_number (c))
        ;                                  /* one number character */
      else if (is_white_space (c))
        {
          p = q;                           /* no piece */
          continue;
        }
      else
        while (*q)
          {
            gunichar d = g_utf8_get_char (q);
            if (is_white_space (d) || g_unichar_isalpha (d) || is_number (d))
              break;
            q = g_utf8_next_char (q);
          }
      for (const char *s = p; s < q; s += MAX_PIECE_BYTES)
        bpe_piece (tok, (const guint8 *) s, MIN ((size_t) (q - s), (size_t) MAX_PIECE_BYTES), ids);
      p = q;
    }
  g_free (clean);
  *n_ids = (int) ids->len;
  return (gint32 *) g_array_free (ids, ids->len == 0);
}

char *
dream_tokenizer_decode (const dream_tokenizer *tok, const gint32 *ids, int n_ids)
{
  GString *bytes = g_string_new (NULL);
  for (int i = 0; i < n_ids; i++)
    {
      const char *s = dream_tokenizer_token (tok, ids[i]);
      if (!s)
        continue;
      for (const char *p = s; *p; p = g_utf8_next_char (p))
        {
          gpointer b = g_hash_table_lookup (tok->char_byte,
                                            GUINT_TO_POINTER (g_utf8_get_char (p)));
          if (b)
            g_string_append_c (bytes, (char) (GPOINTER_TO_INT (b) - 1));
        }
    }
  char *valid = g_utf8_make_valid (bytes->str, bytes->len);
  g_string_free (bytes, TRUE);
  GString *out = g_string_new (NULL);
  for (const char *p = valid; *p;)
    if (strncmp (p, "</w>", 4) == 0)
      {
        g_string_append_c (out, ' ');
        p += 4;
      }
    else
      g_string_append_c (out, *p++);
  g_free (valid);
  return g_string_free (out, FALSE);
}

gboolean
dream_tokenizer_tokenize (const dream_tokenizer *tok, const char *text,
                          int context, gint32 pad_id, gint32 *tokens,
                          int *eot_pos)
{
  g_return_val_if_fail (context >= 2, FALSE);
  int n = 0;
  gint32 *ids = dream_tokenizer_encode (tok, text, &n);
  gboolean cut = n + 2 > context;
  int keep = cut ? context - 2 : n;
  tokens[0] = DREAM_CLIP_SOT;
  if (keep > 0)
    memcpy (tokens + 1, ids, sizeof (gint32) * keep);
  /* clip.tokenize(truncate=True): [sot] + ids + [eot] cut to context,
   * then the last one set to eot — the same as keeping context − 2 ids */
  tokens[keep + 1] = DREAM_CLIP_EOT;
  for (int i = keep + 2; i < context; i++)
    tokens[i] = pad_id;
  if (eot_pos)
    *eot_pos = keep + 1;
  g_free (ids);
  return cut;
}

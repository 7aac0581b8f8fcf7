/* safetensors.c — reading and writing .safetensors weight files.
 *
 * A .safetensors file is an 8-byte little-endian header length N, then N
 * bytes of UTF-8 JSON naming every tensor (dtype, shape, byte range), then
 * the data section the byte ranges point into.
 *
 * Reading maps the file (GMappedFile), parses the header with json-glib and
 * checks every entry against the file before handing anything out; tensor
 * data pointers then point straight into the mapping (zero copy). The file
 * is untrusted input: every problem becomes a DREAM_ERROR_MODEL naming the
 * file and the problem, nothing asserts. Order of the reader, top to bottom:
 *
 *   dream_st_open / dream_st_open_memory
 *     └ st_load:  header length → st_check_header_text (UTF-8, nesting,
 *                 strict-JSON guard) → st_parse_header (json-glib, with a
 *                 duplicate-key watch) → st_read_metadata / st_read_entry
 *                 for each member → st_check_overlaps
 *
 * then lookups, dtype helpers, float conversion (F16/BF16/F64 → F32) and
 * the writer (JsonBuilder header padded to 8 bytes, temp file + rename).
 *
 * Everything here is reentrant: a dream_st_file is read-only after open and
 * may be shared between threads.
 */
#include "io/safetensors.h"

#include "dream.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The header is JSON text kept in memory; real checkpoints have headers of
 * a few hundred kB. Anything beyond this is not a weight file. */
#define ST_MAX_HEADER_BYTES ((guint64) 100 * 1024 * 1024)

/* A valid header nests 3 deep ({ name: { shape: [ ] } }). json-glib before
 * 1.10 recurses once per level without a limit, so deep nesting would
 * overflow the stack: refuse it before json-glib sees it. */
#define ST_MAX_NESTING 16

/* Buffer size for a name quoted in an error message (names are cut to
 * fit); a json-glib message gets ST_SHOWN_NAME_BYTES * 2. */
#define ST_SHOWN_NAME_BYTES 88

struct dream_st_file {
  char *name;                /* the file as shown in messages */
  GMappedFile *mapping;      /* NULL when opened on caller memory */
  const guint8 *data;        /* start of the data section */
  size_t data_size;          /* bytes in the data section */
  int n_tensors;
  dream_st_tensor *tensors;  /* (n_tensors), in header order */
  GHashTable *by_name;       /* tensor name → index + 1 */
  GHashTable *metadata;      /* __metadata__ key → value */
  GStringChunk *strings;     /* every name, key and value above */
  GPtrArray *parts;          /* a view's owned files, or NULL */
  int capacity;              /* a view's room in tensors */
};

static const char *const dtype_names[] = {
  [DREAM_DTYPE_F64] = "F64", [DREAM_DTYPE_F32] = "F32",
  [DREAM_DTYPE_F16] = "F16", [DREAM_DTYPE_BF16] = "BF16",
  [DREAM_DTYPE_I64] = "I64", [DREAM_DTYPE_I32] = "I32",
  [DREAM_DTYPE_I16] = "I16", [DREAM_DTYPE_I8] = "I8",
  [DREAM_DTYPE_U8] = "U8",   [DREAM_DTYPE_BOOL] = "BOOL",
};

static const size_t dtype_sizes[] = {
  [DREAM_DTYPE_F64] = 8, [DREAM_DTYPE_F32] = 4,
  [DREAM_DTYPE_F16] = 2, [DREAM_DTYPE_BF16] = 2,
  [DREAM_DTYPE_I64] = 8, [DREAM_DTYPE_I32] = 4,
  [DREAM_DTYPE_I16] = 2, [DREAM_DTYPE_I8] = 1,
  [DREAM_DTYPE_U8] = 1,  [DREAM_DTYPE_BOOL] = 1,
};

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

#define N_DTYPES ((int) G_N_ELEMENTS (dtype_names))

/* ---- errors ------------------------------------------------------------ */

/* Sets "<file>: <problem>" in the given code; returns FALSE for tail calls. */
static gboolean st_fail_code (GError **error, int code, const char *file,
                              const char *format, ...) G_GNUC_PRINTF (4, 5);

static gboolean
st_fail_code (GError **error, int code, const char *file,
              const char *format, ...)
{
  va_list args;
  char *problem;

  va_start (args, format);
  problem = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, DREAM_ERROR, code, "%s: %s", file, problem);
  g_free (problem);
  return FALSE;
}

#define st_fail(error, file, ...) \
  st_fail_code ((error), DREAM_ERROR_MODEL, (file), __VA_ARGS__)

/* Returns `text` fit for a message: itself if it is short, valid UTF-8;
 * otherwise its longest valid prefix that fits in `buf`, copied there
 * with "…" appended. Strings decoded from a header can be huge, and
 * json-glib's \u decoding can yield invalid UTF-8. */
static const char *
st_shorten (const char *text, char *buf, size_t buf_size)
{
  size_t limit = buf_size - sizeof "…";
  const char *end;

  if (g_utf8_validate (text, -1, &end) && (size_t) (end - text) < buf_size)
    return text;
  if ((size_t) (end - text) > limit)
    {
      end = text + limit;
      while (end > text && (((guchar) *end) & 0xC0) == 0x80)
        end--;
    }
  memcpy (buf, text, (size_t) (end - text));
  strcpy (buf + (end - text), "…");
  return buf;
}

/* ---- header text ------------------------------------------------------- */

/* Checks the raw header before json-glib parses it: valid UTF-8 without NUL
 * bytes, one JSON object and nothing after it, nesting within
 * ST_MAX_NESTING. This is a lexical guard, not a parser: it only tracks
 * whether it is inside a double-quoted string. For that tracking to agree
 * with json-glib (which also accepts comments and single-quoted strings,
 * neither of which is JSON) those two extensions are refused here. */
static gboolean
st_check_header_text (const char *file, const char *text, size_t len,
                      GError **error)
{
  gboolean in_string = FALSE;
  gboolean closed = FALSE;
  int depth = 0;
  size_t i = 0;

  if (!g_utf8_validate_len (text, len, NULL))
    return st_fail (error, file, "header is not valid UTF-8 text");

  while (i < len && g_ascii_isspace (text[i]))
    i++;
  if (i == len || text[i] != '{')
    return st_fail (error, file, "header is not a JSON object");

  for (; i < len; i++)
    {
      char c = text[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      if (closed && !g_ascii_isspace (c))
        return st_fail (error, file,
                        "header has data after its JSON object");
      switch (c)
        {
        case '"':
          in_string = TRUE;
          break;
        case '{':
        case '[':
          if (++depth > ST_MAX_NESTING)
            return st_fail (error, file, "header nests deeper than %d levels",
                            ST_MAX_NESTING);
          break;
        case '}':
        case ']':
          if (depth > 0 && --depth == 0)
            closed = TRUE;
          break;
        case '/':
        case '\'':
          return st_fail (error, file, "header is not valid JSON "
                          "(comments and single quotes are not allowed)");
        default:
          break;
        }
    }
  return TRUE;
}

/* ---- JSON parsing with a duplicate-key watch ---------------------------- */

/* json-glib keeps only the last of repeated object members, silently. Its
 * parser signals every object start, every member once parsed and every
 * object end, so a stack of "keys seen" sets, one per open object, finds
 * repeats at any depth. Depth 1 is the root: a repeat there is a
 * duplicate tensor name. */
typedef struct {
  GPtrArray *open_objects;   /* GHashTable of seen keys, innermost last */
  char *duplicate;           /* first repeated key, or NULL */
  guint duplicate_depth;
} st_key_watch;

static void
st_watch_object_start (JsonParser *parser, gpointer user)
{
  st_key_watch *watch = user;

  (void) parser;
  g_ptr_array_add (watch->open_objects,
                   g_hash_table_new_full (g_str_hash, g_str_equal,
                                          g_free, NULL));
}

static void
st_watch_object_member (JsonParser *parser, JsonObject *object,
                        const char *member, gpointer user)
{
  st_key_watch *watch = user;
  guint depth = watch->open_objects->len;
  GHashTable *seen;

  (void) parser;
  (void) object;
  if (depth == 0)
    return;
  seen = g_ptr_array_index (watch->open_objects, depth - 1);
  if (!g_hash_table_add (seen, g_strdup (member)) && !watch->duplicate)
    {
      watch->duplicate = g_strdup (member);
      watch->duplicate_depth = depth;
    }
}

static void
st_watch_object_end (JsonParser *parser, JsonObject *object, gpointer user)
{
  st_key_watch *watch = user;

  (void) parser;
  (void) object;
  if (watch->open_objects->len > 0)
    g_ptr_array_remove_index (watch->open_objects,
                              watch->open_objects->len - 1);
}

/* Parses the header into a JsonParser whose root is an object without
 * repeated keys. Returns NULL + error otherwise. */
static JsonParser *
st_parse_header (const char *file, const guint8 *bytes, size_t len,
                 GError **error)
{
  st_key_watch watch = { NULL, NULL, 0 };
  JsonParser *parser;
  JsonNode *root;
  GError *json_error = NULL;
  char shown[ST_SHOWN_NAME_BYTES];
  char *text;
  gboolean ok;

  /* json-glib gets its own NUL-terminated copy, so nothing it does can
   * read past the header. */
  text = g_malloc (len + 1);
  memcpy (text, bytes, len);
  text[len] = '\0';

  if (!st_check_header_text (file, text, len, error))
    {
      g_free (text);
      return NULL;
    }

  watch.open_objects = g_ptr_array_new_with_free_func (
                         (GDestroyNotify) g_hash_table_unref);
  parser = json_parser_new ();
  g_signal_connect (parser, "object-start",
                    G_CALLBACK (st_watch_object_start), &watch);
  g_signal_connect (parser, "object-member",
                    G_CALLBACK (st_watch_object_member), &watch);
  g_signal_connect (parser, "object-end",
                    G_CALLBACK (st_watch_object_end), &watch);
  ok = json_parser_load_from_data (parser, text, (gssize) len, &json_error);
  g_signal_handlers_disconnect_by_data (parser, &watch);
  g_ptr_array_unref (watch.open_objects);
  g_free (text);

  root = ok ? json_parser_get_root (parser) : NULL;
  if (!ok)
    {
      char shown_json[2 * ST_SHOWN_NAME_BYTES];

      st_fail (error, file, "header is not valid JSON (%s)",
               st_shorten (json_error->message, shown_json,
                           sizeof shown_json));
    }
  else if (watch.duplicate && watch.duplicate_depth == 1)
    st_fail (error, file, "name '%s' appears twice in the header",
             st_shorten (watch.duplicate, shown, sizeof shown));
  else if (watch.duplicate)
    st_fail (error, file, "key '%s' appears twice in one header object",
             st_shorten (watch.duplicate, shown, sizeof shown));
  else if (!root || !JSON_NODE_HOLDS_OBJECT (root))
    st_fail (error, file, "header is not a JSON object");
  else
    {
      g_free (watch.duplicate);
      return parser;
    }

  g_clear_error (&json_error);
  g_free (watch.duplicate);
  g_object_unref (parser);
  return NULL;
}

/* ---- one header entry --------------------------------------------------- */

/* A JSON integer ≥ 0. json-glib stores integers as gint64; values beyond
 * INT64_MAX come back negative or saturated to -1, so they fail here too. */
static gboolean
st_node_get_count (JsonNode *node, guint64 *out)
{
  gint64 v;

  if (!node || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  v = json_node_get_int (node);
  if (v < 0)
    return FALSE;
  *out = (guint64) v;
  return TRUE;
}

static gboolean
st_dtype_from_name (const char *name, dream_dtype *out)
{
  for (int i = 0; i < N_DTYPES; i++)
    if (strcmp (name, dtype_names[i]) == 0)
      {
        *out = (dream_dtype) i;
        return TRUE;
      }
  return FALSE;
}

/* The byte range a tensor claims, for the overlap check. */
typedef struct {
  guint64 begin;
  guint64 end;
  int index;
} st_range;

/* Reads {"dtype": .., "shape": [..], "data_offsets": [b, e]} into `t` and
 * `range`, checking it against the data section. `name` is already in the
 * file's string chunk. */
static gboolean
st_read_entry (const char *file, const char *name, JsonNode *node,
               size_t data_size, dream_st_tensor *t, st_range *range,
               GError **error)
{
  char shown[ST_SHOWN_NAME_BYTES];
  const char *who = st_shorten (name, shown, sizeof shown);
  JsonObject *entry;
  JsonNode *dtype_node, *shape_node, *offsets_node;
  JsonArray *shape, *offsets;
  GList *members;
  const char *dtype_name;
  guint64 n_elements = 1, n_bytes, begin, end;
  guint n_dims;

  if (!g_utf8_validate (name, -1, NULL))
    return st_fail (error, file, "tensor name '%s' is not valid UTF-8", who);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return st_fail (error, file, "entry '%s' is not a JSON object", who);
  entry = json_node_get_object (node);

  members = json_object_get_members (entry);
  for (GList *l = members; l; l = l->next)
    {
      const char *key = l->data;

      if (strcmp (key, "dtype") != 0 && strcmp (key, "shape") != 0
          && strcmp (key, "data_offsets") != 0)
        {
          char shown_key[ST_SHOWN_NAME_BYTES];

          st_fail (error, file, "tensor '%s' has an unknown field '%s'", who,
                   st_shorten (key, shown_key, sizeof shown_key));
          g_list_free (members);
          return FALSE;
        }
    }
  g_list_free (members);

  /* dtype */
  dtype_node = json_object_get_member (entry, "dtype");
  if (!dtype_node)
    return st_fail (error, file, "tensor '%s' has no dtype", who);
  if (!JSON_NODE_HOLDS_VALUE (dtype_node)
      || json_node_get_value_type (dtype_node) != G_TYPE_STRING)
    return st_fail (error, file, "tensor '%s': dtype is not a string", who);
  dtype_name = json_node_get_string (dtype_node);
  if (!st_dtype_from_name (dtype_name, &t->dtype))
    {
      char shown_dtype[ST_SHOWN_NAME_BYTES];

      return st_fail (error, file, "tensor '%s' has unsupported dtype '%s'",
                      who, st_shorten (dtype_name, shown_dtype,
                                       sizeof shown_dtype));
    }

  /* shape */
  shape_node = json_object_get_member (entry, "shape");
  if (!shape_node)
    return st_fail (error, file, "tensor '%s' has no shape", who);
  if (!JSON_NODE_HOLDS_ARRAY (shape_node))
    return st_fail (error, file, "tensor '%s': shape is not an array", who);
  shape = json_node_get_array (shape_node);
  n_dims = json_array_get_length (shape);
  if (n_dims > DREAM_ST_MAX_DIMS)
    return st_fail (error, file, "tensor '%s' has %u dimensions (at most %d "
                    "are supported)", who, n_dims, DREAM_ST_MAX_DIMS);
  t->n_dims = (int) n_dims;
  for (guint d = 0; d < n_dims; d++)
    {
      guint64 extent;

      if (!st_node_get_count (json_array_get_element (shape, d), &extent)
          || extent > G_MAXINT64)
        return st_fail (error, file, "tensor '%s': shape entry %u is not a "
                        "non-negative integer", who, d);
      if (!g_uint64_checked_mul (&n_elements, n_elements, extent)
          || n_elements > G_MAXINT64)
        return st_fail (error, file, "tensor '%s': shape is too large "
                        "(element count overflows)", who);
      t->shape[d] = (int64_t) extent;
    }
  t->n_elements = (int64_t) n_elements;

  /* data_offsets */
  offsets_node = json_object_get_member (entry, "data_offsets");
  if (!offsets_node)
    return st_fail (error, file, "tensor '%s' has no data_offsets", who);
  if (!JSON_NODE_HOLDS_ARRAY (offsets_node)
      || json_array_get_length (offsets = json_node_get_array (offsets_node))
         != 2)
    return st_fail (error, file, "tensor '%s': data_offsets is not an array "
                    "of two integers", who);
  if (!st_node_get_count (json_array_get_element (offsets, 0), &begin)
      || !st_node_get_count (json_array_get_element (offsets, 1), &end))
    return st_fail (error, file, "tensor '%s': data_offsets are not "
                    "non-negative integers", who);
  if (begin > end)
    return st_fail (error, file, "tensor '%s': data begins at %" G_GUINT64_FORMAT
                    " after it ends at %" G_GUINT64_FORMAT, who, begin, end);
  if (end > data_size)
    return st_fail (error, file, "tensor '%s': data ends at byte %"
                    G_GUINT64_FORMAT " beyond the data section (%" G_GSIZE_FORMAT
                    " bytes); the file may be truncated", who, end, data_size);
  if (!g_uint64_checked_mul (&n_bytes, n_elements, dtype_sizes[t->dtype])
      || n_bytes != end - begin)
    return st_fail (error, file, "tensor '%s': shape needs %" G_GUINT64_FORMAT
                    " elements of %s but the data range holds %"
                    G_GUINT64_FORMAT " bytes", who, n_elements,
                    dtype_names[t->dtype], end - begin);

  t->name = name;
  t->n_bytes = (size_t) n_bytes;
  range->begin = begin;
  range->end = end;
  return TRUE;
}

/* __metadata__: an object whose values are all strings. */
static gboolean
st_read_metadata (dream_st_file *st, JsonNode *node, GError **error)
{
  JsonObject *object;
  GList *members;
  gboolean ok = TRUE;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return st_fail (error, st->name, "__metadata__ is not a JSON object");
  object = json_node_get_object (node);
  members = json_object_get_members (object);
  for (GList *l = members; l; l = l->next)
    {
      const char *key = l->data;
      JsonNode *value = json_object_get_member (object, key);
      char shown[ST_SHOWN_NAME_BYTES];

      if (!JSON_NODE_HOLDS_VALUE (value)
          || json_node_get_value_type (value) != G_TYPE_STRING)
        {
          ok = st_fail (error, st->name, "__metadata__ value of '%s' is not "
                        "a string", st_shorten (key, shown, sizeof shown));
          break;
        }
      if (!g_utf8_validate (key, -1, NULL)
          || !g_utf8_validate (json_node_get_string (value), -1, NULL))
        {
          ok = st_fail (error, st->name, "__metadata__ entry '%s' is not "
                        "valid UTF-8", st_shorten (key, shown, sizeof shown));
          break;
        }
      g_hash_table_insert (st->metadata,
                           g_string_chunk_insert (st->strings, key),
                           g_string_chunk_insert (st->strings,
                                                  json_node_get_string (value)));
    }
  g_list_free (members);
  return ok;
}

static int
st_range_compare (const void *a, const void *b)
{
  const st_range *x = a, *y = b;

  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return 0;
}

/* No two tensors may share a byte. Empty tensors share none. Sorted by
 * start, a range overlaps an earlier one exactly when it starts before the
 * furthest end seen so far. Holes between ranges are allowed. */
static gboolean
st_check_overlaps (dream_st_file *st, st_range *ranges, GError **error)
{
  guint64 furthest_end = 0;
  int furthest = -1;

  if (st->n_tensors > 1)
    qsort (ranges, (size_t) st->n_tensors, sizeof *ranges, st_range_compare);
  for (int i = 0; i < st->n_tensors; i++)
    {
      if (ranges[i].begin == ranges[i].end)
        continue;
      if (furthest >= 0 && ranges[i].begin < furthest_end)
        {
          char a[ST_SHOWN_NAME_BYTES], b[ST_SHOWN_NAME_BYTES];

          return st_fail (error, st->name,
                          "tensors '%s' and '%s' overlap in the data section",
                          st_shorten (st->tensors[furthest].name, a, sizeof a),
                          st_shorten (st->tensors[ranges[i].index].name,
                                      b, sizeof b));
        }
      furthest_end = ranges[i].end;
      furthest = ranges[i].index;
    }
  return TRUE;
}

/* ---- opening ------------------------------------------------------------ */

/* Validates `bytes` (the whole file) and fills `st`. */
static gboolean
st_load (dream_st_file *st, const guint8 *bytes, size_t size, GError **error)
{
  JsonParser *parser;
  JsonObject *root;
  GList *members;
  st_range *ranges;
  guint64 header_len;
  gboolean ok = TRUE;
  int n = 0;

  if (size < 8)
    return st_fail (error, st->name, "file is %" G_GSIZE_FORMAT " bytes, too "
                    "short for a safetensors header", size);
  memcpy (&header_len, bytes, 8);
  header_len = GUINT64_FROM_LE (header_len);
  if (header_len > ST_MAX_HEADER_BYTES)
    return st_fail (error, st->name, "header length %" G_GUINT64_FORMAT
                    " is absurd (over 100 MB); not a safetensors file?",
                    header_len);
  if (header_len > size - 8)
    return st_fail (error, st->name, "header length %" G_GUINT64_FORMAT
                    " runs past the end of the file (%" G_GSIZE_FORMAT
                    " bytes); the file may be truncated", header_len, size);

  parser = st_parse_header (st->name, bytes + 8, (size_t) header_len, error);
  if (!parser)
    return FALSE;
  st->data = bytes + 8 + header_len;
  st->data_size = size - 8 - (size_t) header_len;

  root = json_node_get_object (json_parser_get_root (parser));
  members = json_object_get_members (root);
  st->tensors = g_new0 (dream_st_tensor, g_list_length (members));
  ranges = g_new0 (st_range, g_list_length (members));

  for (GList *l = members; l && ok; l = l->next)
    {
      const char *key = l->data;
      JsonNode *node = json_object_get_member (root, key);

      if (strcmp (key, "__metadata__") == 0)
        {
          ok = st_read_metadata (st, node, error);
          continue;
        }
      ok = st_read_entry (st->name, g_string_chunk_insert (st->strings, key),
                          node, st->data_size, &st->tensors[n], &ranges[n],
                          error);
      if (!ok)
        break;
      st->tensors[n].data = st->data + ranges[n].begin;
      ranges[n].index = n;
      g_hash_table_insert (st->by_name, (gpointer) st->tensors[n].name,
                           GINT_TO_POINTER (n + 1));
      st->n_tensors = ++n;
    }
  if (ok)
    ok = st_check_overlaps (st, ranges, error);

  g_free (ranges);
  g_list_free (members);
  g_object_unref (parser);
  return ok;
}

static dream_st_file *
st_file_new (const char *name)
{
  dream_st_file *st = g_new0 (dream_st_file, 1);

  st->name = g_strdup (name);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new (g_str_hash, g_str_equal);
  st->strings = g_string_chunk_new (4096);
  return st;
}

dream_st_file *
dream_st_open (const char *path, GError **error)
{
  dream_st_file *st;
  GMappedFile *mapping;
  GError *map_error = NULL;
  char *shown;

  g_return_val_if_fail (path != NULL, NULL);

  shown = g_filename_display_name (path);
  mapping = g_mapped_file_new (path, FALSE, &map_error);
  if (!mapping)
    {
      st_fail_code (error, DREAM_ERROR_IO, shown, "cannot open (%s)",
                    map_error->message);
      g_error_free (map_error);
      g_free (shown);
      return NULL;
    }
  st = st_file_new (shown);
  g_free (shown);
  st->mapping = mapping;
  if (!st_load (st, (const guint8 *) g_mapped_file_get_contents (mapping),
                g_mapped_file_get_length (mapping), error))
    {
      dream_st_close (st);
      return NULL;
    }
  return st;
}

dream_st_file *
dream_st_open_memory (const void *data, size_t size, GError **error)
{
  dream_st_file *st;

  g_return_val_if_fail (data != NULL || size == 0, NULL);

  st = st_file_new ("(memory)");
  if (!st_load (st, data, size, error))
    {
      dream_st_close (st);
      return NULL;
    }
  return st;
}

void
dream_st_close (dream_st_file *file)
{
  if (!file)
    return;
  g_hash_table_unref (file->by_name);
  g_hash_table_unref (file->metadata);
  g_string_chunk_free (file->strings);
  g_free (file->tensors);
  if (file->parts)
    g_ptr_array_unref (file->parts);
  if (file->mapping)
    g_mapped_file_unref (file->mapping);
  g_free (file->name);
  g_free (file);
}

/* ---- views -------------------------------------------------------------- */

dream_st_file *
dream_st_view_new (const char *name)
{
  dream_st_file *st;

  g_return_val_if_fail (name != NULL, NULL);
  st = st_file_new (name);
  st->parts = g_ptr_array_new_with_free_func ((GDestroyNotify) dream_st_close);
  return st;
}

void
dream_st_view_own (dream_st_file *view, dream_st_file *part)
{
  g_return_if_fail (view != NULL && view->parts != NULL);
  if (part)
    g_ptr_array_add (view->parts, part);
}

gboolean
dream_st_view_add (dream_st_file *view, const char *name,
                   const dream_st_tensor *t, int n_dims,
                   const int64_t *shape, GError **error)
{
  char shown[ST_SHOWN_NAME_BYTES];
  dream_st_tensor *dst;

  g_return_val_if_fail (view != NULL && view->parts != NULL, FALSE);
  g_return_val_if_fail (name != NULL && t != NULL, FALSE);

  if (g_hash_table_contains (view->by_name, name))
    return st_fail (error, view->name, "two tensors would be named '%s'",
                    st_shorten (name, shown, sizeof shown));
  if (shape)
    {
      int64_t n = 1;

      if (n_dims < 0 || n_dims > DREAM_ST_MAX_DIMS)
        return st_fail (error, view->name, "tensor '%s': %d dimensions",
                        st_shorten (name, shown, sizeof shown), n_dims);
      for (int d = 0; d < n_dims; d++)
        {
          if (shape[d] < 0 || (shape[d] > 0 && n > G_MAXINT64 / shape[d]))
            return st_fail (error, view->name, "tensor '%s': bad shape",
                            st_shorten (name, shown, sizeof shown));
          n *= shape[d];
        }
      if (n != t->n_elements)
        return st_fail (error, view->name, "tensor '%s' has %" G_GINT64_FORMAT
                        " elements, not %" G_GINT64_FORMAT,
                        st_shorten (name, shown, sizeof shown),
                        (gint64) t->n_elements, (gint64) n);
    }
  if (view->n_tensors == view->capacity)
    {
      view->capacity = MAX (64, 2 * view->capacity);
      view->tensors = g_renew (dream_st_tensor, view->tensors, view->capacity);
    }
  dst = &view->tensors[view->n_tensors];
  *dst = *t;
  dst->name = g_string_chunk_insert (view->strings, name);
  if (shape)
    {
      dst->n_dims = n_dims;
      memset (dst->shape, 0, sizeof dst->shape);
      for (int d = 0; d < n_dims; d++)
        dst->shape[d] = shape[d];
    }
  view->n_tensors++;
  g_hash_table_insert (view->by_name, (gpointer) dst->name,
                       GINT_TO_POINTER (view->n_tensors));
  return TRUE;
}

void
dream_st_view_set_metadata (dream_st_file *view, const char *key,
                            const char *value)
{
  g_return_if_fail (view != NULL && view->parts != NULL);
  g_return_if_fail (key != NULL && value != NULL);
  g_hash_table_insert (view->metadata,
                       g_string_chunk_insert (view->strings, key),
                       g_string_chunk_insert (view->strings, value));
}

/* ---- lookups ------------------------------------------------------------ */

int
dream_st_count (const dream_st_file *file)
{
  g_return_val_if_fail (file != NULL, 0);
  return file->n_tensors;
}

const dream_st_tensor *
dream_st_get (const dream_st_file *file, int index)
{
  g_return_val_if_fail (file != NULL, NULL);
  if (index < 0 || index >= file->n_tensors)
    return NULL;
  return &file->tensors[index];
}

const dream_st_tensor *
dream_st_find (const dream_st_file *file, const char *name)
{
  int index;

  g_return_val_if_fail (file != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  index = GPOINTER_TO_INT (g_hash_table_lookup (file->by_name, name));
  return index > 0 ? &file->tensors[index - 1] : NULL;
}

const char *
dream_st_metadata (const dream_st_file *file, const char *key)
{
  g_return_val_if_fail (file != NULL, NULL);
  g_return_val_if_fail (key != NULL, NULL);
  return g_hash_table_lookup (file->metadata, key);
}

/* ---- dtypes ------------------------------------------------------------- */

size_t
dream_dtype_size (dream_dtype dtype)
{
  if ((int) dtype < 0 || (int) dtype >= N_DTYPES)
    return 0;
  return dtype_sizes[dtype];
}

const char *
dream_dtype_name (dream_dtype dtype)
{
  if ((int) dtype < 0 || (int) dtype >= N_DTYPES)
    return "unknown";
  return dtype_names[dtype];
}

static gboolean
st_dtype_is_float (dream_dtype dtype)
{
  return dtype == DREAM_DTYPE_F32 || dtype == DREAM_DTYPE_F16
         || dtype == DREAM_DTYPE_BF16 || dtype == DREAM_DTYPE_F64;
}

/* ---- conversion to float32 ---------------------------------------------- */

static float
st_bits_to_float (guint32 bits)
{
  float f;

  memcpy (&f, &bits, sizeof f);
  return f;
}

/* IEEE half: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Every half is
 * exactly representable as a float. */
static float
st_half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000u) << 16;
  guint32 exponent = (h >> 10) & 0x1Fu;
  guint32 mantissa = h & 0x3FFu;
  float f;

  if (exponent == 0x1F)         /* inf, or NaN keeping its payload */
    return st_bits_to_float (sign | 0x7F800000u | (mantissa << 13));
  if (exponent != 0)            /* normal: rebias 15 → 127 */
    return st_bits_to_float (sign | ((exponent + 112) << 23)
                             | (mantissa << 13));
  f = (float) mantissa * 0x1p-24f;   /* zero or subnormal, exact */
  return sign ? -f : f;
}

/* bfloat16 is the top half of a float32. */
static float
st_bf16_to_float (guint16 h)
{
  return st_bits_to_float ((guint32) h << 16);
}

gboolean
dream_st_to_f32 (const dream_st_tensor *t, float *dst, int64_t n,
                 GError **error)
{
  char shown[ST_SHOWN_NAME_BYTES];
  const guint8 *src;
  const char *name;
  guint64 n_bytes;

  g_return_val_if_fail (t != NULL, FALSE);

  name = t->name ? st_shorten (t->name, shown, sizeof shown) : "";
  if (!st_dtype_is_float (t->dtype))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "tensor '%s': %s is not a floating type", name,
                   dream_dtype_name (t->dtype));
      return FALSE;
    }
  if (n != t->n_elements || n < 0
      || !g_uint64_checked_mul (&n_bytes, (guint64) n,
                                dream_dtype_size (t->dtype))
      || n_bytes != t->n_bytes || (n > 0 && (!dst || !t->data)))
    {
      g_set_error (error, DREAM_ERROR, DREAM_ERROR_MODEL,
                   "tensor '%s': cannot convert %" G_GINT64_FORMAT
                   " elements, it has %" G_GINT64_FORMAT, name, (gint64) n,
                   (gint64) t->n_elements);
      return FALSE;
    }

  /* Element by element through memcpy: the data may be unaligned, and it
   * is little-endian whatever the host is. */
  src = t->data;
  switch (t->dtype)
    {
    case DREAM_DTYPE_F32:
      for (int64_t i = 0; i < n; i++)
        {
          guint32 v;

          memcpy (&v, src + 4 * i, 4);
          dst[i] = st_bits_to_float (GUINT32_FROM_LE (v));
        }
      break;
    case DREAM_DTYPE_F16:
      for (int64_t i = 0; i < n; i++)
        {
          guint16 v;

          memcpy (&v, src + 2 * i, 2);
          dst[i] = st_half_to_float (GUINT16_FROM_LE (v));
        }
      break;
    case DREAM_DTYPE_BF16:
      for (int64_t i = 0; i < n; i++)
        {
          guint16 v;

          memcpy (&v, src + 2 * i, 2);
          dst[i] = st_bf16_to_float (GUINT16_FROM_LE (v));
        }
      break;
    default:  /* F64: IEEE rounding, ±inf beyond the float range */
      for (int64_t i = 0; i < n; i++)
        {
          guint64 v;
          double d;

          memcpy (&v, src + 8 * i, 8);
          v = GUINT64_FROM_LE (v);
          memcpy (&d, &v, 8);
          dst[i] = (float) d;
        }
      break;
    }
  return TRUE;
}

/* ---- expectations ------------------------------------------------------- */

static char *
st_shape_string (int n_dims, const int64_t *shape)
{
  GString *s = g_string_new ("[");

  for (int d = 0; d < n_dims; d++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, d ? ", " : "",
                            (gint64) shape[d]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

const dream_st_tensor *
dream_st_expect (const dream_st_file *file, const char *name, int n_dims,
                 const int64_t *shape, GError **error)
{
  const dream_st_tensor *t;
  char *want, *have;
  gboolean same;

  g_return_val_if_fail (file != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (n_dims >= 0 && n_dims <= DREAM_ST_MAX_DIMS, NULL);
  g_return_val_if_fail (shape != NULL || n_dims == 0, NULL);

  t = dream_st_find (file, name);
  if (!t)
    {
      st_fail (error, file->name, "tensor '%s' is missing", name);
      return NULL;
    }
  if (!st_dtype_is_float (t->dtype))
    {
      st_fail (error, file->name, "tensor '%s' is %s, not a floating type",
               name, dream_dtype_name (t->dtype));
      return NULL;
    }
  same = t->n_dims == n_dims;
  for (int d = 0; same && d < n_dims; d++)
    same = t->shape[d] == shape[d];
  if (same)
    return t;

  want = st_shape_string (n_dims, shape);
  have = st_shape_string (t->n_dims, t->shape);
  st_fail (error, file->name, "tensor '%s' has shape %s, expected %s",
           name, have, want);
  g_free (want);
  g_free (have);
  return NULL;
}

/* ---- writing ------------------------------------------------------------ */

/* Checks the caller's tensors and metadata; sets `*n_bytes` per tensor. */
static gboolean
st_check_outputs (const char *file, const dream_st_out *tensors,
                  int n_tensors, const char *const *metadata,
                  guint64 *n_bytes, GError **error)
{
  GHashTable *seen = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean ok = TRUE;

#define BAD(...) \
  (ok = st_fail_code (error, DREAM_ERROR_INVALID_ARGUMENT, file, __VA_ARGS__))

  if (n_tensors < 0 || (n_tensors > 0 && !tensors))
    BAD ("%d tensors at %p cannot be written", n_tensors,
         (const void *) tensors);
  for (int i = 0; ok && i < n_tensors; i++)
    {
      const dream_st_out *t = &tensors[i];
      guint64 n_elements = 1;

      if (!t->name || !*t->name || !g_utf8_validate (t->name, -1, NULL)
          || strcmp (t->name, "__metadata__") == 0)
        BAD ("tensor %d has no usable name", i);
      else if (!g_hash_table_add (seen, (gpointer) t->name))
        BAD ("tensor name '%s' given twice", t->name);
      else if (t->n_dims < 0 || t->n_dims > DREAM_ST_MAX_DIMS)
        BAD ("tensor '%s' has %d dimensions", t->name, t->n_dims);
      for (int d = 0; ok && d < t->n_dims; d++)
        if (t->shape[d] < 0
            || !g_uint64_checked_mul (&n_elements, n_elements,
                                      (guint64) t->shape[d])
            || n_elements > G_MAXINT64 / 4)
          BAD ("tensor '%s' has an invalid or too large shape", t->name);
      if (ok && n_elements > 0 && !t->data)
        BAD ("tensor '%s' has no data", t->name);
      n_bytes[i] = 4 * n_elements;
    }
  g_hash_table_remove_all (seen);
  for (int i = 0; ok && metadata && metadata[i]; i += 2)
    {
      if (!metadata[i + 1])
        BAD ("metadata key '%s' has no value", metadata[i]);
      else if (!g_utf8_validate (metadata[i], -1, NULL)
               || !g_utf8_validate (metadata[i + 1], -1, NULL))
        BAD ("metadata is not valid UTF-8");
      else if (!g_hash_table_add (seen, (gpointer) metadata[i]))
        BAD ("metadata key '%s' given twice", metadata[i]);
    }
#undef BAD

  g_hash_table_unref (seen);
  return ok;
}

/* The header JSON, padded with spaces to a multiple of 8 bytes so the data
 * section starts aligned. NULL if the offsets would overflow. */
static char *
st_build_header (const dream_st_out *tensors, int n_tensors,
                 const char *const *metadata, const guint64 *n_bytes,
                 size_t *len)
{
  JsonBuilder *builder = json_builder_new ();
  JsonGenerator *generator;
  JsonNode *root;
  GString *text;
  guint64 offset = 0;

  json_builder_begin_object (builder);
  if (metadata && metadata[0])
    {
      json_builder_set_member_name (builder, "__metadata__");
      json_builder_begin_object (builder);
      for (int i = 0; metadata[i]; i += 2)
        {
          json_builder_set_member_name (builder, metadata[i]);
          json_builder_add_string_value (builder, metadata[i + 1]);
        }
      json_builder_end_object (builder);
    }
  for (int i = 0; i < n_tensors; i++)
    {
      json_builder_set_member_name (builder, tensors[i].name);
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "dtype");
      json_builder_add_string_value (builder, "F32");
      json_builder_set_member_name (builder, "shape");
      json_builder_begin_array (builder);
      for (int d = 0; d < tensors[i].n_dims; d++)
        json_builder_add_int_value (builder, tensors[i].shape[d]);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "data_offsets");
      json_builder_begin_array (builder);
      json_builder_add_int_value (builder, (gint64) offset);
      if (n_bytes[i] > G_MAXINT64 - offset)
        {
          g_object_unref (builder);
          return NULL;
        }
      offset += n_bytes[i];
      json_builder_add_int_value (builder, (gint64) offset);
      json_builder_end_array (builder);
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  generator = json_generator_new ();
  json_generator_set_root (generator, root);
  text = g_string_new (NULL);
  json_generator_to_gstring (generator, text);
  while (text->len % 8 != 0)
    g_string_append_c (text, ' ');

  json_node_unref (root);
  g_object_unref (generator);
  g_object_unref (builder);
  *len = text->len;
  return g_string_free (text, FALSE);
}

static gboolean
st_write_all (int fd, const void *buf, size_t len)
{
  const guint8 *p = buf;

  while (len > 0)
    {
      ssize_t done = write (fd, p, len);

      if (done < 0 && errno == EINTR)
        continue;
      if (done <= 0)
        return FALSE;
      p += done;
      len -= (size_t) done;
    }
  return TRUE;
}

/* Writes n floats as little-endian F32. */
static gboolean
st_write_floats (int fd, const float *data, guint64 n)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  const guint8 *p = (const guint8 *) data;
  guint64 left = 4 * n;

  /* in pieces, so a size_t narrower than 64 bits is never overrun */
  while (left > 0)
    {
      size_t chunk = left > ((guint64) 1 << 30) ? (size_t) 1 << 30
                                                : (size_t) left;

      if (!st_write_all (fd, p, chunk))
        return FALSE;
      p += chunk;
      left -= chunk;
    }
  return TRUE;
#else
  guint32 buf[1024];

  for (guint64 i = 0; i < n;)
    {
      size_t k = 0;

      for (; k < G_N_ELEMENTS (buf) && i < n; k++, i++)
        {
          guint32 v;

          memcpy (&v, &data[i], 4);
          buf[k] = GUINT32_TO_LE (v);
        }
      if (!st_write_all (fd, buf, 4 * k))
        return FALSE;
    }
  return TRUE;
#endif
}

gboolean
dream_st_write (const char *path, const dream_st_out *tensors, int n_tensors,
                const char *const *metadata, GError **error)
{
  char *shown, *header = NULL, *tmp_path = NULL;
  guint64 *n_bytes, header_len_le;
  size_t header_len = 0;
  gboolean ok;
  int fd = -1;

  g_return_val_if_fail (path != NULL, FALSE);

  shown = g_filename_display_name (path);
  n_bytes = g_new0 (guint64, MAX (n_tensors, 1));
  ok = st_check_outputs (shown, tensors, n_tensors, metadata, n_bytes, error);
  if (ok)
    {
      header = st_build_header (tensors, n_tensors, metadata, n_bytes,
                                &header_len);
      if (!header)
        ok = st_fail_code (error, DREAM_ERROR_INVALID_ARGUMENT, shown,
                           "tensors are too large for one file");
    }

  if (ok)
    {
      tmp_path = g_strdup_printf ("%s.XXXXXX", path);
      fd = g_mkstemp_full (tmp_path, O_WRONLY | O_CLOEXEC, 0666);
      if (fd < 0)
        ok = st_fail_code (error, DREAM_ERROR_IO, shown, "cannot create a "
                           "temporary file next to it (%s)",
                           g_strerror (errno));
    }
  if (ok)
    {
      errno = 0;
      header_len_le = GUINT64_TO_LE ((guint64) header_len);
      ok = st_write_all (fd, &header_len_le, 8)
           && st_write_all (fd, header, header_len);
      for (int i = 0; ok && i < n_tensors; i++)
        ok = st_write_floats (fd, tensors[i].data, n_bytes[i] / 4);
      ok = ok && fsync (fd) == 0;
      if (!ok)
        st_fail_code (error, DREAM_ERROR_IO, shown, "cannot write (%s)",
                      g_strerror (errno ? errno : EIO));
    }
  if (fd >= 0)
    {
      if (close (fd) != 0 && ok)
        ok = st_fail_code (error, DREAM_ERROR_IO, shown, "cannot write (%s)",
                           g_strerror (errno));
      if (ok && g_rename (tmp_path, path) != 0)
        ok = st_fail_code (error, DREAM_ERROR_IO, shown, "cannot rename the "
                           "temporary file into place (%s)",
                           g_strerror (errno));
      if (!ok)
        g_unlink (tmp_path);
    }

  g_free (tmp_path);
  g_free (header);
  g_free (n_bytes);
  g_free (shown);
  return ok;
}

/* test_tokenizer.c — the CLIP tokenizer against the original.
 *
 * tests/data/clip_tokens.json is ../shared/data/golden/clip/tokens.json
 * (openai/CLIP simple_tokenizer with ftfy 6.3.1: ids of each prompt and
 * clip.tokenize's padded rows); tests/data/clip_tokens_extra.json was made
 * by tools/make_clip_tokens_reference.py running the same original code on
 * prompts that exercise each clean-up step and each branch of the
 * splitting pattern. Every prompt must give exactly the original's ids,
 * clean text and decoded text.
 */
#include "models/tokenizer.h"
#include "dream.h"

#include <json-glib/json-glib.h>
#include <string.h>

static char *
data_path (const char *name)
{
  const char *dir = g_getenv ("DREAM_TEST_DATA");
  return g_build_filename (dir ? dir : "tests/data", name, NULL);
}

static dream_tokenizer *
load_tokenizer (void)
{
  GError *error = NULL;
  dream_tokenizer *tok = dream_tokenizer_load (NULL, &error);
  g_assert_no_error (error);
  return tok;
}

static JsonObject *
load_json (const char *name, JsonParser **parser)
{
  GError *error = NULL;
  char *path = data_path (name);
  *parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (*parser, path, &error));
  g_assert_no_error (error);
  g_free (path);
  return json_node_get_object (json_parser_get_root (*parser));
}

/* Compares one prompt; returns FALSE (with a message) on a mismatch. */
static gboolean
check_prompt (const dream_tokenizer *tok, JsonObject *p)
{
  const char *prompt = json_object_get_string_member (p, "prompt");
  JsonArray *want = json_object_get_array_member (p, "bpe_ids");
  int n = 0;
  gint32 *ids = dream_tokenizer_encode (tok, prompt, &n);
  gboolean ok = n == (int) json_array_get_length (want);
  for (int i = 0; ok && i < n; i++)
    ok = ids[i] == json_array_get_int_element (want, i);
  char *clean = dream_clip_clean_text (prompt);
  if (json_object_has_member (p, "clean")
      && strcmp (clean, json_object_get_string_member (p, "clean")) != 0)
    {
      g_test_message ("clean text differs:\n  got  \"%s\"\n  want \"%s\"", clean,
                      json_object_get_string_member (p, "clean"));
      ok = FALSE;
    }
  char *decoded = dream_tokenizer_decode (tok, ids, n);
  if (strcmp (decoded, json_object_get_string_member (p, "decoded")) != 0)
    ok = FALSE;
  if (!ok)
    {
      GString *s = g_string_new (NULL);
      for (int i = 0; i < n; i++)
        g_string_append_printf (s, " %d", ids[i]);
      g_test_message ("prompt \"%s\": got %d ids:%s (decoded \"%s\"), want %u",
                      prompt, n, s->str, decoded, json_array_get_length (want));
      g_string_free (s, TRUE);
    }
  g_free (decoded);
  g_free (clean);
  g_free (ids);
  return ok;
}

static void
check_file (const char *name)
{
  JsonParser *parser;
  JsonObject *root = load_json (name, &parser);
  JsonArray *prompts = json_object_get_array_member (root, "prompts");
  dream_tokenizer *tok = load_tokenizer ();
  int bad = 0;
  for (guint i = 0; i < json_array_get_length (prompts); i++)
    bad += !check_prompt (tok, json_array_get_object_element (prompts, i));
  g_test_message ("%s: %u prompts, %d differ", name, json_array_get_length (prompts), bad);
  g_assert_cmpint (bad, ==, 0);
  dream_tokenizer_free (tok);
  g_object_unref (parser);
}

static void
test_golden_prompts (void)
{
  check_file ("clip_tokens.json");
}

static void
test_tricky_prompts (void)
{
  check_file ("clip_tokens_extra.json");
}

static void
test_tokenize_padding (void)
{
  /* clip.tokenize rows of the golden file: pad with 0, cut long prompts */
  JsonParser *parser;
  JsonObject *root = load_json ("clip_tokens.json", &parser);
  JsonArray *prompts = json_object_get_array_member (root, "prompts");
  JsonArray *rows = json_object_get_array_member (root, "tokens_pad0");
  dream_tokenizer *tok = load_tokenizer ();
  for (guint i = 0; i < json_array_get_length (rows); i++)
    {
      JsonObject *p = json_array_get_object_element (prompts, i);
      JsonArray *row = json_array_get_array_element (rows, i);
      gint32 t[DREAM_CLIP_CONTEXT];
      int eot = -1;
      gboolean cut = dream_tokenizer_tokenize (tok, json_object_get_string_member (p, "prompt"),
                                               DREAM_CLIP_CONTEXT, 0, t, &eot);
      for (int k = 0; k < DREAM_CLIP_CONTEXT; k++)
        g_assert_cmpint (t[k], ==, json_array_get_int_element (row, k));
      g_assert_cmpint (t[eot], ==, DREAM_CLIP_EOT);
      g_assert_cmpint (cut, ==, json_array_get_length (json_object_get_array_member (p, "bpe_ids")) > 75);
    }
  /* EOT padding (HF / SD1) */
  gint32 t[DREAM_CLIP_CONTEXT];
  int eot;
  g_assert_false (dream_tokenizer_tokenize (tok, "a photo", DREAM_CLIP_CONTEXT, DREAM_CLIP_EOT, t, &eot));
  g_assert_cmpint (eot, ==, 3);
  g_assert_cmpint (t[0], ==, DREAM_CLIP_SOT);
  for (int k = 3; k < DREAM_CLIP_CONTEXT; k++)
    g_assert_cmpint (t[k], ==, DREAM_CLIP_EOT);
  /* a short context */
  g_assert_true (dream_tokenizer_tokenize (tok, "a photo of a cat", 4, 0, t, &eot));
  g_assert_cmpint (eot, ==, 3);
  g_assert_cmpint (t[3], ==, DREAM_CLIP_EOT);
  dream_tokenizer_free (tok);
  g_object_unref (parser);
}

static void
test_odd_input (void)
{
  dream_tokenizer *tok = load_tokenizer ();
  int n = -1;
  /* invalid UTF-8 becomes U+FFFD, never a crash */
  gint32 *ids = dream_tokenizer_encode (tok, "bad \xff\xfe bytes \xc3", &n);
  g_assert_cmpint (n, >, 2);
  g_free (ids);
  ids = dream_tokenizer_encode (tok, "", &n);
  g_assert_null (ids);
  g_assert_cmpint (n, ==, 0);
  /* a huge word is still tokenized */
  char *big = g_strnfill (20000, 'z');
  ids = dream_tokenizer_encode (tok, big, &n);
  g_assert_cmpint (n, >, 100);
  g_free (ids);
  g_free (big);
  g_assert_cmpstr (dream_tokenizer_token (tok, 320), ==, "a</w>");
  g_assert_null (dream_tokenizer_token (tok, DREAM_CLIP_VOCAB_SIZE));
  dream_tokenizer_free (tok);

  GError *error = NULL;
  g_assert_null (dream_tokenizer_load ("/nonexistent/vocab.txt.gz", &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_IO);
  g_clear_error (&error);
  char *path = data_path ("clip_tokens.json");   /* not a vocabulary */
  g_assert_null (dream_tokenizer_load (path, &error));
  g_assert_error (error, DREAM_ERROR, DREAM_ERROR_MODEL);
  g_clear_error (&error);
  g_free (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tokenizer/golden-prompts", test_golden_prompts);
  g_test_add_func ("/tokenizer/tricky-prompts", test_tricky_prompts);
  g_test_add_func ("/tokenizer/tokenize-padding", test_tokenize_padding);
  g_test_add_func ("/tokenizer/odd-input", test_odd_input);
  return g_test_run ();
}

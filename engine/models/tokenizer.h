/* tokenizer.h — CLIP's byte-level BPE tokenizer (openai/CLIP
 * simple_tokenizer.py), used by every CLIP text tower: OpenAI CLIP,
 * OpenCLIP, Stable Diffusion 1.x (HF CLIPTokenizer, same vocabulary and
 * merges) and 2.x (OpenCLIP).
 *
 * Vocabulary: models/bpe_simple_vocab_16e6.txt.gz (from openai/CLIP, MIT),
 * a header line then 48,894 merges "a b" in rank order. The 49,408 ids
 * are: the 256 byte symbols, the same with "</w>" (end of word), one per
 * merge (the merged string), then <|startoftext|> 49406 and
 * <|endoftext|> 49407.
 *
 * Encoding a prompt, as the original:
 *   1. clean-up: ftfy.fix_text (the parts dream_clip_clean_text lists),
 *      html.unescape twice, strip, runs of white space -> one space, lower
 *      case;
 *   2. split with the pattern
 *        <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|
 *        [\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 *      (hand-written over GLib's Unicode tables: letters are
 *      g_unichar_isalpha, numbers the Nd/Nl/No types, \s Unicode
 *      White_Space);
 *   3. each piece's UTF-8 bytes become byte symbols (the last marked end
 *      of word) and the lowest-ranked adjacent pair is merged, all its
 *      occurrences left to right, until no pair has a rank.
 * dream_tokenizer_tokenize() adds <|startoftext|> ... <|endoftext|> and
 * cuts to the context length (clip.tokenize(truncate=True): the last kept
 * id becomes <|endoftext|>), telling the caller when it cut.
 *
 * A tokenizer is read-only once loaded; share it between threads freely.
 */
#ifndef DREAM_TOKENIZER_H
#define DREAM_TOKENIZER_H

#include <glib.h>

enum {
  DREAM_CLIP_VOCAB_SIZE = 49408,
  DREAM_CLIP_SOT = 49406,          /* <|startoftext|> */
  DREAM_CLIP_EOT = 49407,          /* <|endoftext|> */
  DREAM_CLIP_CONTEXT = 77,         /* context length of every CLIP model */
};

#define DREAM_CLIP_VOCAB_FILE "bpe_simple_vocab_16e6.txt.gz"

typedef struct dream_tokenizer dream_tokenizer;

/* Loads the merges from a .txt.gz (or plain .txt) file; path NULL finds
 * DREAM_CLIP_VOCAB_FILE in the model folders ($DREAM_MODELS_DIR,
 * $XDG_DATA_HOME/dreamlayer/models, the installed and the source models/).
 * NULL + DREAM_ERROR_IO / DREAM_ERROR_MODEL on failure. */
dream_tokenizer *dream_tokenizer_load (const char *path, GError **error);
void dream_tokenizer_free (dream_tokenizer *tok);

/* CLIP's text clean-up, steps 1 above; a new string. Of ftfy 6.3
 * fix_text (run per line, repeated until nothing changes) it does:
 * unescape_html (only in lines after which no "<" was seen, named
 * references with ";" and numeric ones), fix_encoding for the common
 * case (UTF-8 read as Latin-1 or Windows-1252, undone when the whole line
 * re-encodes to valid UTF-8 and shows a mojibake pair), fix_c1_controls,
 * fix_latin_ligatures, fix_character_width, uncurl_quotes,
 * fix_line_breaks, remove_terminal_escapes, remove_control_chars and NFC.
 * Not done: ftfy's statistical badness score, restore_byte_a0,
 * replace_lossy_sequences, decode_inconsistent_utf8 and the other
 * single-byte codecs (Cyrillic, Greek, MacRoman...). Invalid UTF-8 in the
 * input becomes U+FFFD. */
char *dream_clip_clean_text (const char *text);

/* BPE ids of a prompt (steps 1-3, no start/end ids) as a new array of
 * gint32 with *n_ids entries (NULL when empty). */
gint32 *dream_tokenizer_encode (const dream_tokenizer *tok, const char *text,
                                int *n_ids);

/* The original's decode: token strings joined, bytes back to UTF-8
 * (invalid bytes become U+FFFD), "</w>" -> " ". A new string. Ids out of
 * range are skipped. */
char *dream_tokenizer_decode (const dream_tokenizer *tok, const gint32 *ids,
                              int n_ids);

/* The string of one id (e.g. "photograph</w>"), or NULL. */
const char *dream_tokenizer_token (const dream_tokenizer *tok, int id);

/* tokens (context) = <|startoftext|> ids <|endoftext|>, padded with pad_id
 * (0 for OpenAI CLIP and OpenCLIP / SD2; DREAM_CLIP_EOT for HF and SD1).
 * A prompt longer than context − 2 ids is cut and its last kept id
 * replaced by <|endoftext|>; returns TRUE when it was cut. Returns the
 * position of <|endoftext|> in *eot_pos if not NULL. context >= 2. */
gboolean dream_tokenizer_tokenize (const dream_tokenizer *tok, const char *text,
                                   int context, gint32 pad_id, gint32 *tokens,
                                   int *eot_pos);

#endif /* DREAM_TOKENIZER_H */

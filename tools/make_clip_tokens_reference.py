#!/usr/bin/python3
"""Write tests/data/clip_tokens_extra.json: the original CLIP tokenizer's ids
for prompts that exercise every branch of the text clean-up and the splitter.

    /usr/bin/python3 tools/make_clip_tokens_reference.py --ref DIR [--out FILE]

DIR must hold the original code, run as it is (nothing of it is copied into
Dreamlayer): openai/CLIP's clip/simple_tokenizer.py and
bpe_simple_vocab_16e6.txt.gz in DIR/tok/, and rspeer/python-ftfy 6.3.1's
ftfy/ package in DIR/ftfy/ (it needs Debian's python3-regex and
python3-wcwidth). For example:

    git --git-dir=<mirror of openai/CLIP> archive HEAD clip | tar x -C DIR
    mkdir DIR/tok; cp DIR/clip/simple_tokenizer.py DIR/clip/*.gz DIR/tok/
    git --git-dir=<mirror of python-ftfy> archive HEAD ftfy | tar x -C DIR

The output has the layout of ../shared/data/golden/clip/tokens.json:
{"prompts": [{"prompt", "ftfy_fix_text", "clean", "bpe_ids", "bpe_tokens",
"decoded"}], "ftfy_version": ...}; "clean" is the whole clean-up
(whitespace_clean(basic_clean(text)).lower()).
"""

import argparse
import json
import os
import sys

PROMPTS = [
    "Hello, World! It's a DOG's life; they're here, we've been, I'm sure you'll see, he'd go.",
    "don\u2019t STOP \u2014 \u201cquoted\u201d \u2018single\u2019 \u02bcmodifier",
    "&lt;b&gt;bold&lt;/b&gt; &amp;amp; &copy; &notit; &#39;x&#39; &#x1F600; &#0; &#128; &#59; &EACUTE; &amp",
    "<b>html tag</b> &amp; stays &lt;escaped&gt;",
    "first line &amp;\nsecond <i> line &amp;\nthird &amp; line",
    "line one\nline two\r\nline three\u2028four\u2029five\x85six",
    "tabs\tand\u00a0nbsp\u3000ideographic\u2003em\u200athin\u202fnarrow",
    "\uff2c\uff2f\uff35\uff24\u3000\uff2e\uff2f\uff29\uff33\uff25\uff33 \ufb01\ufb02 \ufb03 \u0132ssel \ufb05 \u01c4 \uff8a\uff9d\uff76\uff78",
    "caf\u00c3\u00a9 sch\u00c3\u00b6n \u00e2\u20ac\u0153quoted\u00e2\u20ac\x9d",
    "\u0093smart\u0094 and \u0080 c1",
    "\x1b[31mred\x1b[0m text \x07bell \ufeffbom \u206aarabic\ufffcobj",
    "numbers 1234567 3.14 \u00bd \u00b2 \u216b \u0663 \u2460",
    "\u03a3\u039f\u03a6\u039f\u03a3 \u03c3\u03bf\u03c6\u03cc\u03c2 \u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3. \u03a3",
    "\u0130stanbul \u01c5emal \u1e9e STRASSE",
    "emoji \U0001f469\u200d\U0001f469\u200d\U0001f467 \U0001f1eb\U0001f1f7 \u2764\ufe0f \U0001f680\U0001f680\U0001f680",
    "nai\u0308ve re\u0301sume\u0301 fac\u0327ade A\u030angstro\u0308m",
    "\u4e2d\u6587\u5b57\u7b26\u548c\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \ud55c\uad6d\uc5b4",
    "\u00dcn\u00efc\u00f6d\u00e9 \u2603 \u2211 \u221e \u2192 \u2190",
    "<|startoftext|>special<|endoftext|> tokens!<|endoftext|> <|ENDOFTEXT|>",
    "a" * 120,
    "   leading and trailing \t\n  ",
    "\u200bzero\u200bwidth\u200d joiner",
    "x",
    "C'est l'\u00e9t\u00e9, n'est-ce pas? 'quoted' '' '''s ''T 'LL",
    "pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism",
    "red/green-blue_yellow...!!!??? (parens) [brackets] {braces} @#$%^&*",
    "http://example.com/path?query=1&amp;b=2&c=3",
    "Greek: \u1f08\u03b8\u1fc6\u03bd\u03b1\u03b9, Hebrew: \u05e9\u05dc\u05d5\u05dd, Arabic: \u0645\u0631\u062d\u0628\u0627, Hindi: \u0928\u092e\u0938\u094d\u0924\u0947, Thai: \u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35",
    "A photo of a cat. A PHOTO OF A CAT! a photo of a cat?",
    "portrait of a woman, highly detailed, 8k, trending on artstation, by greg rutkowski and alphonse mucha",
    "\x1c\x1d\x1e\x1f separators \x0b vt \x0c ff",
    "&nbsp;non&nbsp;breaking&#160;space &#x3000;wide",
    " ".join(["word%d" % i for i in range(90)]),
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--ref', required=True)
    ap.add_argument('--out', default=os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        'tests', 'data', 'clip_tokens_extra.json'))
    args = ap.parse_args(argv)
    sys.path.insert(0, args.ref)
    import ftfy
    from tok import simple_tokenizer as st
    tok = st.SimpleTokenizer()
    out = []
    for p in PROMPTS:
        ids = tok.encode(p)
        out.append({
            'prompt': p,
            'ftfy_fix_text': ftfy.fix_text(p),
            'clean': st.whitespace_clean(st.basic_clean(p)).lower(),
            'bpe_ids': ids,
            'bpe_tokens': [tok.decoder[i] for i in ids],
            'decoded': tok.decode(ids),
        })
    with open(args.out, 'w', encoding='utf-8') as f:
        json.dump({'generator': 'tools/make_clip_tokens_reference.py',
                   'ftfy_version': ftfy.__version__, 'prompts': out},
                  f, ensure_ascii=True, indent=0)
        f.write('\n')
    print('%d prompts -> %s' % (len(out), args.out))


if __name__ == '__main__':
    main()

"""common.py — what the Dreamlayer training scripts share: the CLIP BPE
tokenizer (written for this project from the published description of
CLIP's byte-level BPE; enough for the lower-case ASCII captions of
shapes.py), a small CLIP in the OpenAI checkpoint layout (QuickGELU,
causal text mask, features at the end-of-text token), the LDM noise
schedule, and resumable checkpoints.  Run with /usr/bin/python3.
"""

import gzip
import json
import math
import os
import re
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'bench'))
sys.path.insert(0, os.path.join(ROOT, 'tools'))
sys.path.insert(0, HERE)

SOT, EOT, CTX = 49406, 49407, 77
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# ---- tokenizer ------------------------------------------------------------


def _byte_chars():
    """The 256 printable stand-ins of byte-level BPE, in vocabulary order."""
    keep = list(range(ord('!'), ord('~') + 1)) + list(range(0xa1, 0xad)) + list(range(0xae, 0x100))
    out, extra = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + extra)
            extra += 1
    order = keep + [b for b in range(256) if b not in keep]
    return out, [out[b] for b in order]


class Tokenizer:
    def __init__(self, vocab=os.path.join(ROOT, 'models', 'bpe_simple_vocab_16e6.txt.gz')):
        with gzip.open(vocab, 'rt', encoding='utf-8') as f:
            lines = f.read().split('\n')
        merges = [tuple(l.split()) for l in lines[1:49152 - 256 - 2 + 1]]
        self.byte, base = _byte_chars()
        words = base + [c + '</w>' for c in base] + [a + b for a, b in merges]
        words += ['<|startoftext|>', '<|endoftext|>']
        self.ids = {w: i for i, w in enumerate(words)}
        self.rank = {m: i for i, m in enumerate(merges)}
        self.cache = {}

    def _bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        parts = list(word[:-1]) + [word[-1] + '</w>']
        while len(parts) > 1:
            pairs = [(self.rank.get((parts[i], parts[i + 1]), 1 << 30), i)
                     for i in range(len(parts) - 1)]
            r, _ = min(pairs)
            if r == 1 << 30:
                break
            a, b = merges_pair = (parts[pairs[[p[0] for p in pairs].index(r)][1]],
                                  parts[pairs[[p[0] for p in pairs].index(r)][1] + 1])
            out, i = [], 0
            while i < len(parts):
                if i < len(parts) - 1 and parts[i] == a and parts[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(parts[i])
                    i += 1
            parts = out
        self.cache[word] = parts
        return parts

    def encode(self, text):
        text = re.sub(r'\s+', ' ', text).strip().lower()
        ids = []
        for w in re.findall(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+|_+", text):
            w = ''.join(self.byte[b] for b in w.encode('utf-8'))
            ids += [self.ids[p] for p in self._bpe(w)]
        return ids

    def __call__(self, texts, pad=0):
        """(n, 77) int64: SOT, ids, EOT, then `pad` (0 as OpenAI CLIP; SD1's
        Hugging Face tokenizer pads with EOT)."""
        out = torch.full((len(texts), CTX), pad, dtype=torch.long)
        for i, t in enumerate(texts):
            ids = [SOT] + self.encode(t)[:CTX - 2] + [EOT]
            out[i, :len(ids)] = torch.tensor(ids)
        return out


# ---- CLIP -----------------------------------------------------------------


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResBlock(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads)
        self.ln_1 = nn.LayerNorm(d)
        self.mlp = nn.Sequential()
        self.mlp.add_module('c_fc', nn.Linear(d, 4 * d))
        self.mlp.add_module('gelu', QuickGELU())
        self.mlp.add_module('c_proj', nn.Linear(4 * d, d))
        self.ln_2 = nn.LayerNorm(d)

    def forward(self, x, mask=None):      # x (seq, n, d)
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, d, layers, heads):
        super().__init__()
        self.resblocks = nn.ModuleList([ResBlock(d, heads) for _ in range(layers)])

    def forward(self, x, mask=None, upto=None):
        for b in self.resblocks[:upto]:
            x = b(x, mask)
        return x


class Vision(nn.Module):
    def __init__(self, size, patch, d, layers, heads, embed):
        super().__init__()
        self.conv1 = nn.Conv2d(3, d, patch, patch, bias=False)
        s = d ** -0.5
        self.class_embedding = nn.Parameter(s * torch.randn(d))
        self.positional_embedding = nn.Parameter(s * torch.randn((size // patch) ** 2 + 1, d))
        self.ln_pre = nn.LayerNorm(d)
        self.transformer = Transformer(d, layers, heads)
        self.ln_post = nn.LayerNorm(d)
        self.proj = nn.Parameter(s * torch.randn(d, embed))

    def forward(self, x):                  # x (n, 3, S, S) normalised
        x = self.conv1(x).flatten(2).permute(0, 2, 1)            # (n, g*g, d)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], 1) + self.positional_embedding
        x = self.ln_pre(x).permute(1, 0, 2)
        x = self.transformer(x).permute(1, 0, 2)
        return self.ln_post(x[:, 0]) @ self.proj


class CLIP(nn.Module):
    """OpenAI CLIP layout; cfg keys: embed, image_size, patch, vision_width,
    vision_layers, vision_heads, text_width, text_layers, text_heads."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d = cfg['text_width']
        self.visual = Vision(cfg['image_size'], cfg['patch'], cfg['vision_width'],
                             cfg['vision_layers'], cfg['vision_heads'], cfg['embed'])
        self.token_embedding = nn.Embedding(49408, d)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        self.positional_embedding = nn.Parameter(0.01 * torch.randn(CTX, d))
        self.transformer = Transformer(d, cfg['text_layers'], cfg['text_heads'])
        self.ln_final = nn.LayerNorm(d)
        self.text_projection = nn.Parameter(d ** -0.5 * torch.randn(d, cfg['embed']))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.register_buffer('mask', torch.full((CTX, CTX), float('-inf')).triu(1),
                             persistent=False)

    def text_hidden(self, ids, upto=None):
        """ln_final of the hidden states (n, 77, d): SD1's context."""
        n = ids.shape[1]        # < 77 in training: the causal mask makes the
                                # features at the EOT the same as with 77
        x = self.token_embedding(ids) + self.positional_embedding[:n]
        x = self.transformer(x.permute(1, 0, 2), self.mask[:n, :n], upto).permute(1, 0, 2)
        return self.ln_final(x)

    def encode_text(self, ids):
        x = self.text_hidden(ids)
        return x[torch.arange(ids.shape[0]), ids.argmax(-1)] @ self.text_projection

    def encode_image(self, img):
        return self.visual(img)


def clip_normalise(img_u8):
    """(n, H, W, 3) uint8 tensor -> (n, 3, H, W) float, CLIP mean/std."""
    x = img_u8.permute(0, 3, 1, 2).float() / 255
    m = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    s = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    return (x - m) / s


# ---- checkpoints ----------------------------------------------------------


def save_ckpt(path, **state):
    tmp = path + '.tmp'
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_ckpt(path):
    return torch.load(path, map_location='cpu') if os.path.exists(path) else None


def lr_at(step, total, peak, warm=200):
    if step < warm:
        return peak * (step + 1) / warm
    p = (step - warm) / max(1, total - warm)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))

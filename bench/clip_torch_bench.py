#!/usr/bin/python3
"""Time CLIP ViT-B/32 in PyTorch: one image embedding, 100 caption embeddings.

    bench/clip_torch_bench.py --model FILE --tokens FILE [--threads N] [--runs R]

The same work as bench/bench_clip.c, on the same weights (the file that
bench-clip writes) and the same tokens (bench-clip --write-tokens). The
network is written here the way openai/CLIP's model.py builds it
(nn.MultiheadAttention over (L, N, D), pre-LN residual blocks, QuickGELU,
causal mask on the text, class token + ln_pre/ln_post on the image), with
the checkpoint's own key names, loaded strictly. encode_text runs all 77
positions, as the original does. float32, torch.no_grad, eval mode. One
untimed warm-up, then R timed runs of each. Prints per run and a summary

    torch clip-b32 threads=N image best=Xs median=Ys text100 best=Xs median=Ys peak_rss=Z MiB
"""

import argparse
import json
import resource
import statistics
import struct
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
from torch import nn


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, v in header.items():
        if name == '__metadata__':
            continue
        s, e = v['data_offsets']
        assert v['dtype'] == 'F32'
        out[name] = torch.from_numpy(np.frombuffer(data[s:e], dtype='<f4').reshape(v['shape']).copy())
    return out


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    def __init__(self, d, heads, mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads)
        self.ln_1 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(OrderedDict([('c_fc', nn.Linear(d, 4 * d)),
                                              ('gelu', QuickGELU()),
                                              ('c_proj', nn.Linear(4 * d, d))]))
        self.ln_2 = nn.LayerNorm(d)
        self.mask = mask

    def forward(self, x):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=self.mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, d, layers, heads, mask=None):
        super().__init__()
        self.resblocks = nn.Sequential(*[Block(d, heads, mask) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class Visual(nn.Module):
    def __init__(self, res, patch, d, layers, heads, embed):
        super().__init__()
        self.conv1 = nn.Conv2d(3, d, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(torch.empty(d))
        self.positional_embedding = nn.Parameter(torch.empty((res // patch) ** 2 + 1, d))
        self.ln_pre = nn.LayerNorm(d)
        self.transformer = Transformer(d, layers, heads)
        self.ln_post = nn.LayerNorm(d)
        self.proj = nn.Parameter(torch.empty(d, embed))

    def forward(self, x):
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = self.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1])
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.ln_pre(x).permute(1, 0, 2)
        x = self.transformer(x).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class CLIP(nn.Module):
    def __init__(self, embed=512, res=224, vl=12, vw=768, patch=32, ctx=77, vocab=49408,
                 tw=512, th=8, tl=12):
        super().__init__()
        self.visual = Visual(res, patch, vw, vl, vw // 64, embed)
        mask = torch.full((ctx, ctx), float('-inf')).triu_(1)
        self.transformer = Transformer(tw, tl, th, mask)
        self.token_embedding = nn.Embedding(vocab, tw)
        self.positional_embedding = nn.Parameter(torch.empty(ctx, tw))
        self.ln_final = nn.LayerNorm(tw)
        self.text_projection = nn.Parameter(torch.empty(tw, embed))
        self.logit_scale = nn.Parameter(torch.ones([]))

    def encode_image(self, image):
        return self.visual(image)

    def encode_text(self, text):
        x = self.token_embedding(text) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection


def bench_image():
    """The pattern bench_clip.c encodes, preprocessed the same way."""
    i = np.arange(224 * 224 * 3, dtype=np.float64)
    px = (0.5 + 0.4 * np.sin(i * 0.001) * np.cos(i * 0.0007)).astype(np.float32)
    q = np.rint(np.clip(px, 0, 1) * np.float32(255)).astype(np.float32) / np.float32(255)
    q = q.reshape(224, 224, 3)
    mean = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
    std = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)
    return torch.from_numpy(((q - mean) / std).transpose(2, 0, 1).copy())[None]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', required=True)
    ap.add_argument('--tokens', required=True)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--runs', type=int, default=3)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    model = CLIP().eval()
    model.load_state_dict(read_safetensors(args.model), strict=True)
    tokens = read_safetensors(args.tokens)['tokens'].long()
    image = bench_image()
    ti, tt = [], []
    with torch.no_grad():
        for r in range(-1, args.runs):
            t0 = time.perf_counter()
            ie = model.encode_image(image)
            ie = ie / ie.norm(dim=-1, keepdim=True)
            t1 = time.perf_counter()
            te = model.encode_text(tokens)
            te = te / te.norm(dim=-1, keepdim=True)
            t2 = time.perf_counter()
            if r >= 0:
                ti.append(t1 - t0)
                tt.append(t2 - t1)
                print('run %d: image %.4fs text100 %.4fs' % (r + 1, ti[-1], tt[-1]), flush=True)
    print('check: image[0..2] %.5f %.5f %.5f text[0][0..2] %.5f %.5f %.5f'
          % (ie[0, 0], ie[0, 1], ie[0, 2], te[0, 0], te[0, 1], te[0, 2]))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print('torch clip-b32 threads=%d image best=%.4fs median=%.4fs text100 best=%.4fs '
          'median=%.4fs peak_rss=%.0f MiB' % (args.threads, min(ti), statistics.median(ti),
                                                min(tt), statistics.median(tt), rss))
    return 0


if __name__ == '__main__':
    sys.exit(main())

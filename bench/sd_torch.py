#!/usr/bin/env python3
"""sd_torch.py — Stable Diffusion UNet and VAE in plain PyTorch, on the same
checkpoint files as the engine (LDM single-file key layout), for benchmarks.

A compact re-implementation written for this project from the LDM
architecture (openaimodel.UNetModel with SpatialTransformers,
autoencoder.AutoencoderKL), in eval mode with the original's math: the
CrossAttention softmax path, GEGLU, GroupNorm32 (eps 1e-5 in ResBlocks,
1e-6 in transformers and the VAE).

    sd_torch.py check                       # against ../shared/data/golden
    sd_torch.py make-weights OUT [--dtype f16|f32] [--seed S] [--text]
                                            # random SD 1.5-size checkpoint
                                            # (--text: with a CLIP-L text encoder)
    sd_torch.py bench --weights F --what unet|vae [--threads N] [--runs R]
    sd_torch.py reference --weights F --out IO [--latent L]
                                            # inputs and outputs for `dream run-net`

`bench` times what bench/bench_unet.c times: one classifier-free-guidance
UNet evaluation (batch 2, 64x64 latent, 77x768 context), or the VAE
decoder from a 64x64 latent to 512x512; one untimed warm-up, then R runs:
    torch sd15-unet 64x64 batch=2 threads=N best=X.XXXs median=Y.YYYs peak_rss=Z MiB
Needs Debian's python3-torch and python3-numpy; run with /usr/bin/python3.
"""

import argparse
import json
import math
import os
import resource
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---- safetensors --------------------------------------------------------

_DT = {'F32': np.float32, 'F16': np.float16}


def st_read(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
    meta = header.pop('__metadata__', {})
    data = np.memmap(path, dtype=np.uint8, mode='r', offset=8 + n)
    out = {}
    for k, v in header.items():
        a, b = v['data_offsets']
        arr = np.frombuffer(data[a:b], dtype=_DT[v['dtype']]).reshape(v['shape'])
        out[k] = torch.from_numpy(arr.astype(np.float32))
    return out, meta


def st_write(path, tensors, meta):
    header, off = {}, 0
    for k, a in tensors:
        header[k] = {'dtype': 'F16' if a.dtype == np.float16 else 'F32',
                     'shape': list(a.shape), 'data_offsets': [off, off + a.nbytes]}
        off += a.nbytes
    header['__metadata__'] = meta
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path + '.tmp', 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for _, a in tensors:
            f.write(np.ascontiguousarray(a).tobytes())
    os.replace(path + '.tmp', path)

# ---- UNet ---------------------------------------------------------------


def gn(c, eps=1e-5):
    return nn.GroupNorm(32, c, eps=eps)


class ResBlock(nn.Module):
    def __init__(self, ch, emb, out):
        super().__init__()
        self.in_layers = nn.Sequential(gn(ch), nn.SiLU(), nn.Conv2d(ch, out, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb, out))
        self.out_layers = nn.Sequential(gn(out), nn.SiLU(), nn.Dropout(0.0),
                                        nn.Conv2d(out, out, 3, padding=1))
        self.skip_connection = nn.Identity() if ch == out else nn.Conv2d(ch, out, 1)

    def forward(self, x, emb, ctx):
        h = self.in_layers(x) + self.emb_layers(emb)[:, :, None, None]
        return self.skip_connection(x) + self.out_layers(h)


class CrossAttention(nn.Module):
    def __init__(self, dim, ctx_dim, heads, d_head):
        super().__init__()
        inner = heads * d_head
        self.heads, self.scale = heads, d_head ** -0.5
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(ctx_dim, inner, bias=False)
        self.to_v = nn.Linear(ctx_dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(0.0))

    def forward(self, x, ctx=None):
        ctx = x if ctx is None else ctx
        h = self.heads
        q, k, v = self.to_q(x), self.to_k(ctx), self.to_v(ctx)
        b, n, c = q.shape
        q, k, v = (t.reshape(b, t.shape[1], h, c // h).permute(0, 2, 1, 3).reshape(b * h, t.shape[1], c // h)
                   for t in (q, k, v))
        sim = torch.einsum('bid,bjd->bij', q, k) * self.scale
        out = torch.einsum('bij,bjd->bid', sim.softmax(dim=-1), v)
        out = out.reshape(b, h, n, c // h).permute(0, 2, 1, 3).reshape(b, n, c)
        return self.to_out(out)


class GEGLU(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x):
        a, gate = self.proj(x).chunk(2, dim=-1)
        return a * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.net = nn.Sequential(GEGLU(dim, 4 * dim), nn.Dropout(0.0), nn.Linear(4 * dim, dim))

    def forward(self, x):
        return self.net(x)


class Block(nn.Module):
    def __init__(self, dim, ctx_dim, heads, d_head):
        super().__init__()
        self.attn1 = CrossAttention(dim, dim, heads, d_head)
        self.ff = FeedForward(dim)
        self.attn2 = CrossAttention(dim, ctx_dim, heads, d_head)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)

    def forward(self, x, ctx):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), ctx) + x
        return self.ff(self.norm3(x)) + x


class SpatialTransformer(nn.Module):
    def __init__(self, c, heads, d_head, depth, ctx_dim, linear):
        super().__init__()
        inner = heads * d_head
        self.linear = linear
        self.norm = gn(c, 1e-6)
        self.proj_in = nn.Linear(c, inner) if linear else nn.Conv2d(c, inner, 1)
        self.transformer_blocks = nn.ModuleList(Block(inner, ctx_dim, heads, d_head) for _ in range(depth))
        self.proj_out = nn.Linear(inner, c) if linear else nn.Conv2d(inner, c, 1)

    def forward(self, x, emb, ctx):
        b, c, h, w = x.shape
        t = self.norm(x)
        if not self.linear:
            t = self.proj_in(t)
        t = t.permute(0, 2, 3, 1).reshape(b, h * w, -1)
        if self.linear:
            t = self.proj_in(t)
        for blk in self.transformer_blocks:
            t = blk(t, ctx)
        if self.linear:
            t = self.proj_out(t)
        t = t.reshape(b, h, w, -1).permute(0, 3, 1, 2)
        if not self.linear:
            t = self.proj_out(t)
        return t + x


class Down(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.op = nn.Conv2d(c, c, 3, stride=2, padding=1)

    def forward(self, x, emb, ctx):
        return self.op(x)


class Up(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x, emb, ctx):
        return self.conv(F.interpolate(x, scale_factor=2, mode='nearest'))


class Seq(nn.ModuleList):
    def forward(self, x, emb, ctx):
        for m in self:
            x = m(x, emb, ctx)
        return x


class Conv(nn.Conv2d):
    def forward(self, x, emb, ctx):
        return super().forward(x)


class UNet(nn.Module):
    def __init__(self, in_channels=4, out_channels=4, model_channels=320, channel_mult=(1, 2, 4, 4),
                 num_res_blocks=2, attention_resolutions=(4, 2, 1), num_heads=8, num_head_channels=-1,
                 context_dim=768, transformer_depth=1, use_linear_in_transformer=False, **unused):
        super().__init__()
        mc, emb = model_channels, 4 * model_channels
        self.mc = mc
        self.time_embed = nn.Sequential(nn.Linear(mc, emb), nn.SiLU(), nn.Linear(emb, emb))

        def xf(ch):
            heads = ch // num_head_channels if num_head_channels > 0 else num_heads
            return SpatialTransformer(ch, heads, ch // heads, transformer_depth, context_dim,
                                      use_linear_in_transformer)
        self.input_blocks = nn.ModuleList([Seq([Conv(in_channels, mc, 3, padding=1)])])
        chans, ch, ds = [mc], mc, 1
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                layers = [ResBlock(ch, emb, mult * mc)]
                ch = mult * mc
                if ds in attention_resolutions:
                    layers.append(xf(ch))
                self.input_blocks.append(Seq(layers))
                chans.append(ch)
            if level != len(channel_mult) - 1:
                self.input_blocks.append(Seq([Down(ch)]))
                chans.append(ch)
                ds *= 2
        self.middle_block = Seq([ResBlock(ch, emb, ch), xf(ch), ResBlock(ch, emb, ch)])
        self.output_blocks = nn.ModuleList()
        for level, mult in list(enumerate(channel_mult))[::-1]:
            for i in range(num_res_blocks + 1):
                layers = [ResBlock(ch + chans.pop(), emb, mc * mult)]
                ch = mc * mult
                if ds in attention_resolutions:
                    layers.append(xf(ch))
                if level and i == num_res_blocks:
                    layers.append(Up(ch))
                    ds //= 2
                self.output_blocks.append(Seq(layers))
        self.out = nn.Sequential(gn(ch), nn.SiLU(), nn.Conv2d(mc, out_channels, 3, padding=1))

    def forward(self, x, t, ctx):
        half = self.mc // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=x.dtype) / half)
        args = t[:, None].to(x.dtype) * freqs[None]     # x.dtype: float32, or float64 refs
        emb = self.time_embed(torch.cat([torch.cos(args), torch.sin(args)], dim=-1))
        hs, h = [], x
        for m in self.input_blocks:
            h = m(h, emb, ctx)
            hs.append(h)
        h = self.middle_block(h, emb, ctx)
        for m in self.output_blocks:
            h = m(torch.cat([h, hs.pop()], dim=1), emb, ctx)
        return self.out(h)

# ---- VAE ----------------------------------------------------------------


class VRes(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1, self.conv1 = gn(cin, 1e-6), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.conv2 = gn(cout, 1e-6), nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)
        self.cin, self.cout = cin, cout

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.nin_shortcut(x) if self.cin != self.cout else x) + h


class VAttn(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = gn(c, 1e-6)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(c, c, 1) for _ in range(4))

    def forward(self, x):
        h = self.norm(x)
        q, k, v = self.q(h), self.k(h), self.v(h)
        b, c, hh, ww = q.shape
        q = q.reshape(b, c, hh * ww).permute(0, 2, 1)
        w_ = torch.bmm(q, k.reshape(b, c, hh * ww)) * (int(c) ** -0.5)
        w_ = F.softmax(w_, dim=2)
        h = torch.bmm(v.reshape(b, c, hh * ww), w_.permute(0, 2, 1)).reshape(b, c, hh, ww)
        return x + self.proj_out(h)


class Level(nn.Module):
    pass


class Encoder(nn.Module):
    def __init__(self, ch=128, ch_mult=(1, 2, 4, 4), num_res_blocks=2, in_channels=3, z_channels=4):
        super().__init__()
        self.conv_in = nn.Conv2d(in_channels, ch, 3, padding=1)
        self.down = nn.ModuleList()
        cin = ch
        for i, m in enumerate(ch_mult):
            lv = Level()
            lv.block = nn.ModuleList()
            for _ in range(num_res_blocks):
                lv.block.append(VRes(cin, ch * m))
                cin = ch * m
            if i != len(ch_mult) - 1:
                lv.downsample = Level()
                lv.downsample.conv = nn.Conv2d(cin, cin, 3, stride=2)
            self.down.append(lv)
        self.mid = Level()
        self.mid.block_1, self.mid.attn_1, self.mid.block_2 = VRes(cin, cin), VAttn(cin), VRes(cin, cin)
        self.norm_out, self.conv_out = gn(cin, 1e-6), nn.Conv2d(cin, 2 * z_channels, 3, padding=1)

    def forward(self, x):
        h = self.conv_in(x)
        for lv in self.down:
            for b in lv.block:
                h = b(h)
            if hasattr(lv, 'downsample'):
                h = lv.downsample.conv(F.pad(h, (0, 1, 0, 1)))
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        return self.conv_out(F.silu(self.norm_out(h)))


class Decoder(nn.Module):
    def __init__(self, ch=128, ch_mult=(1, 2, 4, 4), num_res_blocks=2, out_ch=3, z_channels=4):
        super().__init__()
        cin = ch * ch_mult[-1]
        self.conv_in = nn.Conv2d(z_channels, cin, 3, padding=1)
        self.mid = Level()
        self.mid.block_1, self.mid.attn_1, self.mid.block_2 = VRes(cin, cin), VAttn(cin), VRes(cin, cin)
        ups = []
        for i in reversed(range(len(ch_mult))):
            lv = Level()
            lv.block = nn.ModuleList()
            for _ in range(num_res_blocks + 1):
                lv.block.append(VRes(cin, ch * ch_mult[i]))
                cin = ch * ch_mult[i]
            if i != 0:
                lv.upsample = Level()
                lv.upsample.conv = nn.Conv2d(cin, cin, 3, padding=1)
            ups.insert(0, lv)
        self.up = nn.ModuleList(ups)
        self.norm_out, self.conv_out = gn(cin, 1e-6), nn.Conv2d(cin, out_ch, 3, padding=1)

    def forward(self, z):
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(self.conv_in(z))))
        for lv in reversed(self.up):
            for b in lv.block:
                h = b(h)
            if hasattr(lv, 'upsample'):
                h = lv.upsample.conv(F.interpolate(h, scale_factor=2.0, mode='nearest'))
        return self.conv_out(F.silu(self.norm_out(h)))


class VAE(nn.Module):
    def __init__(self, embed_dim=4, **dd):
        super().__init__()
        self.encoder, self.decoder = Encoder(**dd), Decoder(**dd)
        z = dd.get('z_channels', 4)
        self.quant_conv = nn.Conv2d(2 * z, 2 * embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(embed_dim, z, 1)

    def encode(self, x):
        return self.quant_conv(self.encoder(x))

    def decode(self, z):
        return self.decoder(self.post_quant_conv(z))

# ---- loading ------------------------------------------------------------


def load_into(module, weights, prefix):
    sd = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
    missing, unexpected = module.load_state_dict(sd, strict=False)
    if missing:
        raise SystemExit('missing tensors: %s' % missing[:5])
    return module.eval()


SD15_UNET = dict(model_channels=320, channel_mult=(1, 2, 4, 4), num_res_blocks=2,
                 attention_resolutions=(4, 2, 1), num_heads=8, context_dim=768)
SD15_VAE = dict(ch=128, ch_mult=(1, 2, 4, 4), num_res_blocks=2)


def cmd_check(args):
    gold = args.golden
    worst = 0.0
    for case in ('unet_sd1', 'unet_sd2'):
        w, meta = st_read(os.path.join(gold, case, 'model.safetensors'))
        io, _ = st_read(os.path.join(gold, case, 'io.safetensors'))
        cfg = json.loads(meta['config'])
        cfg['attention_resolutions'] = tuple(cfg['attention_resolutions'])
        net = load_into(UNet(**{k: v for k, v in cfg.items() if k not in ('image_size',)}), w, '')
        with torch.no_grad():
            out = net(io['x'], io['timesteps'], io['context'])
        d = (out - io['out']).abs().max().item()
        print('%s: max |sd_torch - golden| = %.3g' % (case, d))
        worst = max(worst, d)
    w, meta = st_read(os.path.join(gold, 'vae', 'model.safetensors'))
    io, _ = st_read(os.path.join(gold, 'vae', 'io.safetensors'))
    dd = json.loads(meta['config'])['ddconfig']
    vae = load_into(VAE(ch=dd['ch'], ch_mult=tuple(dd['ch_mult']), num_res_blocks=dd['num_res_blocks']), w, '')
    with torch.no_grad():
        m, dec = vae.encode(io['image']), vae.decode(io['z'])
    for name, a, b in (('moments', m, io['moments']), ('decoded', dec, io['decoded'])):
        d = (a - b).abs().max().item()
        print('vae %s: max |sd_torch - golden| = %.3g' % (name, d))
        worst = max(worst, d)
    return 0 if worst < 1e-4 else 1


def cmd_make_weights(args):
    torch.manual_seed(args.seed)
    unet, vae = UNet(**SD15_UNET), VAE(**SD15_VAE)
    dtype = np.float16 if args.dtype == 'f16' else np.float32
    tensors = []
    for prefix, mod in (('model.diffusion_model.', unet), ('first_stage_model.', vae)):
        for k, v in mod.state_dict().items():
            a = v.numpy()
            if k.endswith('.weight') and a.ndim > 1:
                a = np.random.default_rng(len(tensors)).standard_normal(a.shape).astype(np.float32)
                a *= 1.0 / math.sqrt(np.prod(a.shape[1:]))
            tensors.append((prefix + k, a.astype(dtype)))
    if args.text:   # SD 1.5's text encoder (CLIP ViT-L/14, HF layout), random
        d, f, pre = 768, 3072, 'cond_stage_model.transformer.text_model.'
        shapes = [('embeddings.token_embedding.weight', (49408, d)),
                  ('embeddings.position_embedding.weight', (77, d))]
        for i in range(12):
            b = 'encoder.layers.%d.' % i
            for n in ('q_proj', 'k_proj', 'v_proj', 'out_proj'):
                shapes += [(b + 'self_attn.%s.weight' % n, (d, d)), (b + 'self_attn.%s.bias' % n, (d,))]
            shapes += [(b + 'layer_norm1.weight', (d,)), (b + 'layer_norm1.bias', (d,)),
                       (b + 'layer_norm2.weight', (d,)), (b + 'layer_norm2.bias', (d,)),
                       (b + 'mlp.fc1.weight', (f, d)), (b + 'mlp.fc1.bias', (f,)),
                       (b + 'mlp.fc2.weight', (d, f)), (b + 'mlp.fc2.bias', (d,))]
        shapes += [('final_layer_norm.weight', (d,)), ('final_layer_norm.bias', (d,))]
        rng = np.random.default_rng(12345)
        for k, shp in shapes:
            if len(shp) > 1:
                a = rng.standard_normal(shp, dtype=np.float32) / math.sqrt(shp[1])
            elif 'norm' in k and k.endswith('weight'):
                a = np.ones(shp, np.float32)
            else:
                a = np.zeros(shp, np.float32)
            tensors.append((pre + k, a.astype(dtype)))
    meta = {'generator': 'bench/sd_torch.py make-weights', 'config': json.dumps(
        {'model': {'params': {'unet_config': {'params': {'num_heads': 8, 'context_dim': 768}}}}})}
    st_write(args.out, tensors, meta)
    n = sum(a.size for _, a in tensors)
    print('%s: %d tensors, %.0fM parameters, %s' % (args.out, len(tensors), n / 1e6, args.dtype))
    return 0


def cmd_bench(args):
    torch.set_num_threads(args.threads)
    w, _ = st_read(args.weights)
    g = torch.Generator().manual_seed(0)
    if args.what == 'unet':
        net = load_into(UNet(**SD15_UNET), w, 'model.diffusion_model.')
        x = torch.randn(2, 4, args.latent, args.latent, generator=g)
        t = torch.tensor([500.0, 500.0])
        ctx = torch.randn(2, 77, 768, generator=g)
        run = lambda: net(x, t, ctx)
        label = 'sd15-unet %dx%d batch=2' % (args.latent, args.latent)
    else:
        vae = load_into(VAE(**SD15_VAE), w, 'first_stage_model.')
        z = torch.randn(1, 4, args.latent, args.latent, generator=g)
        run = lambda: vae.decode(z)
        label = 'sd15-vae-decode %dx%d' % (8 * args.latent, 8 * args.latent)
    del w
    times, cpus = [], []
    with torch.no_grad():
        for i in range(-1, args.runs):
            t0, c0 = time.perf_counter(), time.process_time()
            run()
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            if i >= 0:
                times.append(dt)
                cpus.append(dc)
                print('run %d: %.3fs (cpu %.3fs)' % (i, dt, dc), flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print('torch %s threads=%d best=%.3fs median=%.3fs cpu_best=%.3fs peak_rss=%.0f MiB'
          % (label, args.threads, min(times), statistics.median(times), min(cpus), peak))
    return 0


def cmd_reference(args):
    """x, timesteps, context -> out (UNet) and z -> decoded (VAE) on a
    full-size checkpoint, for comparing `dream run-net` at real sizes."""
    w, _ = st_read(args.weights)
    g = torch.Generator().manual_seed(1)
    L = args.latent
    x = torch.randn(2, 4, L, L, generator=g)
    t = torch.tensor([981.0, 37.0])
    ctx = torch.randn(2, 77, 768, generator=g)
    z = torch.randn(1, 4, L, L, generator=g) * 4
    with torch.no_grad():
        out = load_into(UNet(**SD15_UNET), w, 'model.diffusion_model.')(x, t, ctx)
        dec = load_into(VAE(**SD15_VAE), w, 'first_stage_model.').decode(z)
    st_write(args.out, [(k, v.numpy().astype(np.float32)) for k, v in
                        (('x', x), ('timesteps', t), ('context', ctx), ('out', out),
                         ('z', z), ('decoded', dec))], {'generator': 'bench/sd_torch.py reference'})
    print('%s: out max %.3g, decoded max %.3g' % (args.out, out.abs().max(), dec.abs().max()))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='cmd', required=True)
    c = sub.add_parser('check')
    c.add_argument('--golden', default=os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'data', 'golden'))
    m = sub.add_parser('make-weights')
    m.add_argument('out')
    m.add_argument('--dtype', choices=('f16', 'f32'), default='f16')
    m.add_argument('--seed', type=int, default=0)
    m.add_argument('--text', action='store_true',
                   help='add a random SD 1.5 text encoder (for whole `dream generate` runs)')
    b = sub.add_parser('bench')
    b.add_argument('--weights', required=True)
    b.add_argument('--what', choices=('unet', 'vae'), default='unet')
    b.add_argument('--threads', type=int, default=2)
    b.add_argument('--runs', type=int, default=3)
    b.add_argument('--latent', type=int, default=64)
    r = sub.add_parser('reference')
    r.add_argument('--weights', required=True)
    r.add_argument('--out', required=True)
    r.add_argument('--latent', type=int, default=16)
    args = p.parse_args()
    return {'check': cmd_check, 'make-weights': cmd_make_weights, 'bench': cmd_bench,
            'reference': cmd_reference}[args.cmd](args)


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env python3
"""make_generate_reference.py — a tiny random Stable Diffusion 1.x checkpoint
and PyTorch reference runs of the whole pipeline on it, for tests/test_generate.c.

    /usr/bin/python3 tools/make_generate_reference.py [--out tests/data]

Writes (all deterministic: numpy default_rng seeds fixed below):
  sd_tiny.safetensors.gz      F16 (gzip: the token embedding is mostly zeros), LDM single-file names: UNet
                              (model.diffusion_model.*: 32 channels, 2 levels,
                              1 ResBlock per level, transformers at both,
                              2 heads, context 32), VAE (first_stage_model.*:
                              32 channels, 4 levels = factor 8, 1 ResBlock),
                              HF CLIP text encoder
                              (cond_stage_model.transformer.text_model.*:
                              width 32, 2 layers, 2 heads, QuickGELU; the
                              token embedding is zero except the rows the
                              prompts use, so the file stays small)
                              The 9-channel inpainting UNet of the tests is this
                              UNet with conv_in widened by unet9_conv_in_extra
                              (32, 5, 3, 3) of the reference file (the test
                              builds that checkpoint from the two).
  generate_ref.safetensors    references (F32), see CASES below

Everything here is written from the papers and the original code's
equations (LDM DDPM schedule, k-diffusion samplers, CompVis denoiser,
classifier-free guidance, CLIP text transformer), independently of the C
engine; the networks are bench/sd_torch.py's. The noise generator
(Philox4x32-10 + Box-Muller, documented in engine/tasks/generate.c) is
re-implemented here in numpy. Token ids come from tests/data/clip_tokens.json
(made by the original CLIP tokenizer), not from the engine.
"""

import argparse
import gzip
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'bench'))
sys.path.insert(0, HERE)
import sd_torch  # noqa: E402
from st_io import write_safetensors  # noqa: E402

torch.set_num_threads(1)
W_IMG, H_IMG = 64, 48            # the test size (latent 8 x 6)
D_TEXT, TEXT_LAYERS, HEADS = 32, 2, 2
UNET = dict(model_channels=32, channel_mult=(1, 1), num_res_blocks=1, attention_resolutions=(1, 2),
            num_heads=HEADS, context_dim=D_TEXT)
VAE_CFG = dict(ch=32, ch_mult=(1, 1, 1, 1), num_res_blocks=1)
SOT, EOT, CTX = 49406, 49407, 77
SCALE = 0.18215

# ---- Philox4x32-10 + Box-Muller (see engine/tasks/generate.c) -------------

M0, M1, W0, W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
MASK = 0xFFFFFFFF


def philox(c0, c1, c2, c3, k0, k1):
    """Vectorised over numpy uint64 arrays holding 32-bit values."""
    k0 = np.uint64(k0)
    k1 = np.uint64(k1)
    for _ in range(10):
        p0 = np.uint64(M0) * c0
        p1 = np.uint64(M1) * c2
        hi0, lo0 = p0 >> np.uint64(32), p0 & np.uint64(MASK)
        hi1, lo1 = p1 >> np.uint64(32), p1 & np.uint64(MASK)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = (k0 + np.uint64(W0)) & np.uint64(MASK)
        k1 = (k1 + np.uint64(W1)) & np.uint64(MASK)
    return c0, c1, c2, c3


def gauss(seed, stream, n):
    nb = (n + 3) // 4
    j = np.arange(nb, dtype=np.uint64)
    c = philox(j & np.uint64(MASK), j >> np.uint64(32), np.full(nb, stream, np.uint64),
               np.zeros(nb, np.uint64), seed & MASK, (seed >> 32) & MASK)
    out = np.empty((nb, 4), np.float64)
    for h in range(2):
        u1 = ((c[2 * h] >> np.uint64(8)).astype(np.float64) + 1.0) / 16777216.0
        u2 = (c[2 * h + 1] >> np.uint64(8)).astype(np.float64) / 16777216.0
        r = np.sqrt(-2.0 * np.log(u1))
        a = 2.0 * math.pi * u2
        out[:, 2 * h] = r * np.cos(a)
        out[:, 2 * h + 1] = r * np.sin(a)
    return out.reshape(-1)[:n].astype(np.float32)


def latent_noise(seed, stream, h, w):
    return torch.from_numpy(gauss(seed, stream, 4 * h * w).reshape(1, 4, h, w))

# ---- CLIP text encoder (HF CLIPTextModel layout) --------------------------


class TextLayer(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.layer_norm1, self.layer_norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.self_attn = nn.Module()
        for n in ('q_proj', 'k_proj', 'v_proj', 'out_proj'):
            setattr(self.self_attn, n, nn.Linear(d, d))
        self.mlp = nn.Module()
        self.mlp.fc1, self.mlp.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        b, n, d = x.shape
        h = self.layer_norm1(x)
        a = self.self_attn
        q, k, v = (m(h).reshape(b, n, self.heads, -1).transpose(1, 2) for m in (a.q_proj, a.k_proj, a.v_proj))
        s = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)
        s = s + torch.full((n, n), float('-inf')).triu(1)
        o = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d)
        x = x + a.out_proj(o)
        h = self.mlp.fc1(self.layer_norm2(x))
        h = h * torch.sigmoid(1.702 * h)            # QuickGELU
        return x + self.mlp.fc2(h)


class TextModel(nn.Module):
    def __init__(self, d=D_TEXT, layers=TEXT_LAYERS, heads=HEADS):
        super().__init__()
        self.embeddings = nn.Module()
        self.embeddings.token_embedding = nn.Embedding(49408, d)
        self.embeddings.position_embedding = nn.Embedding(CTX, d)
        self.encoder = nn.Module()
        self.encoder.layers = nn.ModuleList(TextLayer(d, heads) for _ in range(layers))
        self.final_layer_norm = nn.LayerNorm(d)

    def forward(self, ids):
        x = self.embeddings.token_embedding(ids) + self.embeddings.position_embedding.weight[None]
        for layer in self.encoder.layers:
            x = layer(x)
        return self.final_layer_norm(x)            # SD1: last_hidden_state


def tokens(ids):
    t = [SOT] + list(ids)[:CTX - 2] + [EOT]
    return t + [EOT] * (CTX - len(t))               # SD1 / HF: padded with <|endoftext|>

# ---- weights --------------------------------------------------------------


def randomise(module, prefix, rng, used_ids=None, out_scale=None):
    tensors = []
    for k, v in module.state_dict().items():
        shape = tuple(v.shape)
        if k.endswith('token_embedding.weight'):
            a = np.zeros(shape, np.float32)
            for i in used_ids:
                a[i] = rng.standard_normal(shape[1])
        elif len(shape) > 1:
            a = rng.standard_normal(shape) / math.sqrt(np.prod(shape[1:]))
        elif 'norm' in k and k.endswith('weight'):
            a = 1.0 + 0.1 * rng.standard_normal(shape)
        else:
            a = 0.1 * rng.standard_normal(shape)
        if out_scale and k in out_scale:
            a = a * out_scale[k]
        a = a.astype(np.float16)
        tensors.append((prefix + k, a))
    sd = {k[len(prefix):]: torch.from_numpy(a.astype(np.float32)) for k, a in tensors}
    module.load_state_dict(sd, strict=True)
    module.eval()
    return tensors

# ---- schedule and samplers (LDM / k-diffusion equations) -------------------


class Schedule:
    def __init__(self, T=1000, start=0.00085, end=0.012):
        betas = np.linspace(start ** 0.5, end ** 0.5, T, dtype=np.float64) ** 2
        self.ac64 = np.cumprod(1.0 - betas)
        self.ac = torch.tensor(self.ac64, dtype=torch.float32)
        self.sigmas = ((1 - self.ac) / self.ac) ** 0.5
        self.log_sigmas = self.sigmas.log()
        self.T = T

    def t_to_sigma(self, t):
        t = torch.as_tensor(t, dtype=torch.float32)
        lo, hi = t.floor().long(), t.ceil().long()
        w = t - lo
        return ((1 - w) * self.log_sigmas[lo] + w * self.log_sigmas[hi]).exp()

    def sigma_to_t(self, sigma):
        ls = torch.as_tensor(sigma, dtype=torch.float32).log()
        dists = ls - self.log_sigmas
        lo = dists.ge(0).cumsum(0).argmax(0).clamp(max=self.T - 2)
        hi = lo + 1
        low, high = self.log_sigmas[lo], self.log_sigmas[hi]
        w = ((low - ls) / (low - high)).clamp(0, 1)
        return (1 - w) * lo + w * hi

    def discrete(self, n):
        t = torch.linspace(self.T - 1, 0, n)
        return torch.cat([self.t_to_sigma(t), torch.zeros(1)])

    def karras(self, n, rho=7.0):
        smin, smax = self.sigmas[0].item(), self.sigmas[-1].item()
        ramp = torch.linspace(0, 1, n)
        lo, hi = smin ** (1 / rho), smax ** (1 / rho)
        return torch.cat([(hi + ramp * (lo - hi)) ** rho, torch.zeros(1)])

    def ddim_timesteps(self, steps):
        c = self.T // steps
        return [t + 1 for t in range(0, self.T, c)][::-1]


class Guided:
    """ε (or D) of the CompVis denoiser with classifier-free guidance."""

    def __init__(self, unet, cond, uncond, scale, concat=None, v=False, hold=None):
        self.unet, self.cond, self.uncond, self.scale, self.concat = unet, cond, uncond, scale, concat
        self.v = v            # v-prediction
        self.hold = hold      # (latent mask, init latent): D = m D + (1 − m) z0

    def eps(self, x_in, t):
        if self.concat is not None:
            x_in = torch.cat([x_in, self.concat], dim=1)
        tt = torch.full((1,), float(t))
        if self.uncond is None or self.scale == 1.0:
            return self.unet(x_in, tt, self.cond)
        out = self.unet(torch.cat([x_in, x_in]), torch.cat([tt, tt]), torch.cat([self.uncond, self.cond]))
        u, c = out.chunk(2)
        return u + self.scale * (c - u)


def denoise(g, sch, x, sigma):
    sigma = torch.as_tensor(sigma, dtype=torch.float32)
    c_in = 1.0 / (sigma ** 2 + 1) ** 0.5
    out = g.eps(x * c_in, sch.sigma_to_t(sigma))
    if g.v:   # CompVisVDenoiser
        d = x * (1.0 / (sigma ** 2 + 1)) + out * (-sigma / (sigma ** 2 + 1) ** 0.5)
    else:
        d = x - sigma * out
    if g.hold is not None:
        m, z0 = g.hold
        d = m * d + (1 - m) * z0
    return d


def sample_euler(g, sch, x, sigmas):
    x = x * sigmas[0]
    for i in range(len(sigmas) - 1):
        d = (x - denoise(g, sch, x, sigmas[i])) / sigmas[i]
        x = x + d * (sigmas[i + 1] - sigmas[i])
    return x


def sample_euler_a(g, sch, x, sigmas, noises):
    x = x * sigmas[0]
    for i in range(len(sigmas) - 1):
        den = denoise(g, sch, x, sigmas[i])
        s_from, s_to = sigmas[i], sigmas[i + 1]
        up = min(s_to, (s_to ** 2 * (s_from ** 2 - s_to ** 2) / s_from ** 2) ** 0.5)
        down = (s_to ** 2 - up ** 2) ** 0.5
        x = x + (x - den) / s_from * (down - s_from)
        if s_to > 0:
            x = x + noises[i] * up
    return x


def sample_dpmpp_2m(g, sch, x, sigmas):
    x = x * sigmas[0]
    old = None
    for i in range(len(sigmas) - 1):
        den = denoise(g, sch, x, sigmas[i])
        t, tn = -sigmas[i].log(), -sigmas[i + 1].log()
        h = tn - t
        if old is None or sigmas[i + 1] == 0:
            x = (sigmas[i + 1] / sigmas[i]) * x - torch.expm1(-h) * den
        else:
            r = (t + sigmas[i - 1].log()) / h
            dd = (1 + 1 / (2 * r)) * den - (1 / (2 * r)) * old
            x = (sigmas[i + 1] / sigmas[i]) * x - torch.expm1(-h) * dd
        old = den
    return x


def sample_ddim(g, sch, x, ts):
    """x: the latent at ts[0]; η = 0."""
    for i, t in enumerate(ts):
        a = sch.ac[t]
        ap = sch.ac[ts[i + 1]] if i + 1 < len(ts) else sch.ac[0]
        e = g.eps(x, t)
        x0 = (x - (1 - a).sqrt() * e) / a.sqrt()
        x = ap.sqrt() * x0 + (1 - ap).sqrt() * e
    return x


def decode(vae, z):
    img = vae.decode(z / SCALE)
    return ((img + 1) / 2).clamp(0, 1)[0].permute(1, 2, 0).contiguous()    # (H, W, 3)


def encode_mean(vae, img01):
    x = torch.from_numpy(img01).permute(2, 0, 1)[None] * 2 - 1
    return vae.encode(x)[:, :4] * SCALE


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=os.path.join(HERE, '..', 'tests', 'data'))
    args = ap.parse_args()
    with open(os.path.join(HERE, '..', 'tests', 'data', 'clip_tokens.json')) as f:
        prompts = json.load(f)['prompts']
    prompt = prompts[0]['prompt']
    ids = prompts[0]['bpe_ids']                    # "a photograph of an astronaut riding a horse"
    neg_prompt, neg_ids = 'a horse', [320, 4558]   # ids from the same reference ("a</w>", "horse</w>")
    assert prompts[0]['bpe_tokens'][6:8] == ['a</w>', 'horse</w>']

    torch.manual_seed(0)
    rng = np.random.default_rng(20261128)
    unet = sd_torch.UNet(**UNET)
    vae = sd_torch.VAE(**VAE_CFG)
    text = TextModel()
    tensors = randomise(unet, 'model.diffusion_model.', rng)
    # a decoder whose outputs stay mostly inside -1..1 (so clamping does not hide differences)
    tensors += randomise(vae, 'first_stage_model.', rng,
                         out_scale={'decoder.conv_out.weight': 0.6, 'decoder.conv_out.bias': 0.6})
    tensors += randomise(text, 'cond_stage_model.transformer.text_model.', rng,
                         used_ids=sorted(set(ids + neg_ids + [SOT, EOT])))
    meta = {'generator': 'tools/make_generate_reference.py',
            'config': json.dumps({'model': {'params': {'unet_config': {'params': {
                'num_heads': HEADS, 'context_dim': D_TEXT}}}}}),
            'text_heads': str(HEADS), 'activation': 'quick_gelu', 'modelspec.resolution': '64x64'}
    write_safetensors(os.path.join(args.out, 'sd_tiny.safetensors'), tensors, meta)

    path = os.path.join(args.out, 'sd_tiny.safetensors')
    write_safetensors(path, tensors, meta)
    with open(path, 'rb') as f, gzip.GzipFile(path + '.gz', 'wb', 9, mtime=0) as g:
        g.write(f.read())
    os.unlink(path)

    # the inpainting UNet: the same weights, conv_in with 5 more input channels
    unet9 = sd_torch.UNet(in_channels=9, **UNET)
    sd9 = {k: v.clone() for k, v in unet.state_dict().items()}
    extra = (np.random.default_rng(9).standard_normal((32, 5, 3, 3)) / math.sqrt(9 * 9)).astype(np.float16)
    w0 = sd9['input_blocks.0.0.weight']
    sd9['input_blocks.0.0.weight'] = torch.cat([w0, torch.from_numpy(extra.astype(np.float32))], dim=1)
    unet9.load_state_dict(sd9)
    unet9.eval()

    sch = Schedule()
    h, w = H_IMG // 8, W_IMG // 8
    ref = {'unet9_conv_in_extra': torch.from_numpy(extra.astype(np.float32))}
    with torch.no_grad():
        tok = torch.tensor([tokens(neg_ids), tokens(ids)])
        ctx = text(tok)                            # (2, 77, 32): [negative, prompt]
        unc, cond = ctx[:1], ctx[1:]
        ref['tokens'] = tok.float()
        ref['context'] = ctx
        # the generator's first deviates (stream 0 and 1, seed 42)
        ref['gauss_42_0'] = torch.from_numpy(gauss(42, 0, 1000))
        ref['gauss_42_1'] = torch.from_numpy(gauss(42, 1, 1000))
        ref['gauss_big_3'] = torch.from_numpy(gauss(0x123456789ABCDEF0, 3, 1000))

        # A: euler, 4 steps, cfg 5, seed 42, negative prompt
        g = Guided(unet, cond, unc, 5.0)
        x = sample_euler(g, sch, latent_noise(42, 0, h, w), sch.discrete(4))
        ref['a_image'] = decode(vae, x)
        # B: euler a, 3 steps, cfg 1 (no unconditional pass), seed 7
        g1 = Guided(unet, cond, None, 1.0)
        noises = [latent_noise(7, 1 + i, h, w) for i in range(3)]
        x = sample_euler_a(g1, sch, latent_noise(7, 0, h, w), sch.discrete(3), noises)
        ref['b_image'] = decode(vae, x)
        # C: dpm++ 2m karras, 5 steps, cfg 3, seed 1234, empty negative prompt
        tok_e = torch.tensor([tokens([]), tokens(ids)])
        ce = text(tok_e)
        g3 = Guided(unet, ce[1:], ce[:1], 3.0)
        x = sample_dpmpp_2m(g3, sch, latent_noise(1234, 0, h, w), sch.karras(5))
        ref['c_image'] = decode(vae, x)
        # D: img2img, DDIM 5 steps, strength 0.6 -> the last 3 timesteps, cfg 4, seed 5
        yy, xx = np.mgrid[0:H_IMG, 0:W_IMG].astype(np.float32)
        init = np.stack([xx / (W_IMG - 1), yy / (H_IMG - 1),
                         0.5 + 0.4 * np.sin(xx / 5.0) * np.cos(yy / 7.0)], axis=-1).astype(np.float32)
        ref['init'] = torch.from_numpy(init)
        z0 = encode_mean(vae, init)
        ref['init_latent'] = z0
        ts = sch.ddim_timesteps(5)
        first = 5 - int(5 * 0.6)
        a = sch.ac64[ts[first]]
        x = float(np.float32(math.sqrt(a))) * z0 + float(np.float32(math.sqrt(1 - a))) * latent_noise(5, 0, h, w)
        g4 = Guided(unet, cond, unc, 4.0)
        x = sample_ddim(g4, sch, x, ts[first:])
        ref['d_image'] = decode(vae, x)
        # E: img2img strength 0 = the VAE round trip
        ref['e_image'] = decode(vae, z0)
        # F: the 9-channel UNet alone: x (1, 9, h, w), t = 500.5, context = cond
        x9 = torch.from_numpy(np.random.default_rng(99).standard_normal((1, 9, h, w)).astype(np.float32))
        ref['f_x'] = x9
        ref['f_t'] = torch.tensor([500.5])
        ref['f_out'] = unet9(x9, torch.tensor([500.5]), cond)
        # G: inpainting with the 9-channel UNet (+ the tiny VAE and text): euler, 3 steps,
        #    cfg 2, seed 11, hard mask = a rectangle; blended with the init by the mask
        mask = np.zeros((H_IMG, W_IMG), np.float32)
        mask[12:36, 20:52] = 1.0
        ref['mask'] = torch.from_numpy(mask)
        masked = (init * (mask < 0.5)[..., None] + 0.5 * (mask >= 0.5)[..., None]).astype(np.float32)  # 0 in -1..1
        zm = encode_mean(vae, masked)
        mlat = torch.from_numpy(mask[::8, ::8].copy())[None, None]
        g9 = Guided(unet9, cond, unc, 2.0, concat=torch.cat([mlat, zm], dim=1))
        x = sample_euler(g9, sch, latent_noise(11, 0, h, w), sch.discrete(3))
        gen = decode(vae, x).numpy()
        m = mask[..., None]
        ref['g_image'] = torch.from_numpy(m * gen + (1 - m) * init)

        # H: v-prediction (the same weights read as a v model), euler, 3 steps, cfg 3, seed 21
        gv = Guided(unet, cond, unc, 3.0, v=True)
        x = sample_euler(gv, sch, latent_noise(21, 0, h, w), sch.discrete(3))
        ref['h_image'] = decode(vae, x)
        # I, J: an ordinary model with a feathered mask: the known region held to the init
        #    latent (denoised replaced there), latent mask = max over each 8x8 block,
        #    final latent blended, decoded image blended with the pixel mask.
        yy, xx = np.mgrid[0:H_IMG, 0:W_IMG].astype(np.float32)
        fm = np.clip(np.minimum.reduce([(xx - 14) / 10, (50 - xx) / 10, (yy - 8) / 8, (40 - yy) / 8]), 0, 1)
        fm = fm.astype(np.float32)
        ref['fmask'] = torch.from_numpy(fm)
        ml = torch.from_numpy(fm.reshape(h, 8, w, 8).max(axis=(1, 3)))[None, None]
        mp = fm[..., None]

        def held(gg, x):
            x = ml * x + (1 - ml) * z0
            gen = decode(vae, x).numpy()
            return torch.from_numpy(np.where(mp > 0, mp * gen + (1 - mp) * init, init))
        # I: ε, DPM++ 2M Karras 4 steps, strength 0.75 -> sigmas[1:], cfg 4, seed 31
        gi = Guided(unet, cond, unc, 4.0, hold=(ml, z0))
        sg = sch.karras(4)[1:]
        x = sample_dpmpp_2m(gi, sch, latent_noise(31, 0, h, w) + z0 / sg[0], sg)
        ref['i_image'] = held(gi, x)
        # J: v, Euler ancestral 3 steps, strength 1 (all steps, from init + σ_max noise), cfg 2, seed 41
        gj = Guided(unet, cond, unc, 2.0, v=True, hold=(ml, z0))
        sg = sch.discrete(3)
        noises = [latent_noise(41, 1 + i, h, w) for i in range(3)]
        x = sample_euler_a(gj, sch, latent_noise(41, 0, h, w) + z0 / sg[0], sg, noises)
        ref['j_image'] = held(gj, x)

    out = [(k, v.detach().numpy().astype(np.float32)) for k, v in ref.items()]
    write_safetensors(os.path.join(args.out, 'generate_ref.safetensors'), out,
                      {'generator': 'tools/make_generate_reference.py', 'prompt': prompt,
                       'negative_prompt': neg_prompt})
    for k, v in ref.items():
        if k.endswith('image'):
            v = v.numpy()
            print('%s: mean %.3f std %.3f clipped %.1f%%' % (k, v.mean(), v.std(),
                                                            100 * np.mean((v <= 0) | (v >= 1))))
    return 0


if __name__ == '__main__':
    sys.exit(main())

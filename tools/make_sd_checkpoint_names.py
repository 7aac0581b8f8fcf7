#!/usr/bin/python3
"""Name tables for tests/test_sd_checkpoint.c: how the golden SD checkpoints'
tensors (../shared/data/golden/{unet_sd1,vae,clip}/model.safetensors, LDM and
OpenAI-CLIP names) are called in a diffusers folder.

The diffusers names are derived here by walking the two architectures the way
their constructors build them, independently of the engine's C code:

  LDM openaimodel.UNetModel appends to input_blocks, for each level, one
  [ResBlock (+ SpatialTransformer)] per res block, then a Downsample block
  (not after the last level); middle_block = ResBlock, SpatialTransformer,
  ResBlock; output_blocks walks the levels in reverse with num_res_blocks + 1
  entries each, an Upsample appended to the last entry of every level but
  the top one.  diffusers UNet2DConditionModel groups the same modules per
  level: down_blocks[i].{resnets,attentions,downsamplers},
  up_blocks[i] (i = 0 is the deepest level) likewise.

  LDM AutoencoderKL: encoder.down[i].{block,attn,downsample},
  decoder.up[i] (i = 0 is the top level, built in reverse);
  diffusers AutoencoderKL: encoder.down_blocks[i], decoder.up_blocks[i]
  with i = 0 the deepest level.

  OpenAI CLIP text tower -> Hugging Face CLIPTextModel: in_proj split into
  q, k, v (third column: which third, -1 none).

Usage: /usr/bin/python3 tools/make_sd_checkpoint_names.py [GOLDEN_DIR] [OUT_DIR]
"""
import json
import os
import struct
import sys

golden = sys.argv[1] if len(sys.argv) > 1 else '../shared/data/golden'
out = sys.argv[2] if len(sys.argv) > 2 else 'tests/data/sd_checkpoint'


def names(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        h = json.loads(f.read(n))
    h.pop('__metadata__', None)
    return h


RES_UNET = {'in_layers.0': 'norm1', 'in_layers.2': 'conv1', 'emb_layers.1': 'time_emb_proj',
            'out_layers.0': 'norm2', 'out_layers.3': 'conv2', 'skip_connection': 'conv_shortcut'}


def unet_modules(levels, n_res, attn_levels):
    """(ldm module prefix, diffusers module prefix, kind) in construction order."""
    mods = [('input_blocks.0.0.', 'conv_in.', 'same'),
            ('time_embed.0.', 'time_embedding.linear_1.', 'same'),
            ('time_embed.2.', 'time_embedding.linear_2.', 'same')]
    ib = 1
    for lvl in range(levels):
        for j in range(n_res):
            mods.append(('input_blocks.%d.0.' % ib, 'down_blocks.%d.resnets.%d.' % (lvl, j), 'res'))
            if lvl in attn_levels:
                mods.append(('input_blocks.%d.1.' % ib, 'down_blocks.%d.attentions.%d.' % (lvl, j), 'same'))
            ib += 1
        if lvl != levels - 1:
            mods.append(('input_blocks.%d.0.op.' % ib, 'down_blocks.%d.downsamplers.0.conv.' % lvl, 'same'))
            ib += 1
    mods += [('middle_block.0.', 'mid_block.resnets.0.', 'res'),
             ('middle_block.1.', 'mid_block.attentions.0.', 'same'),
             ('middle_block.2.', 'mid_block.resnets.1.', 'res')]
    ob = 0
    for up, lvl in enumerate(reversed(range(levels))):
        for j in range(n_res + 1):
            mods.append(('output_blocks.%d.0.' % ob, 'up_blocks.%d.resnets.%d.' % (up, j), 'res'))
            k = 1
            if lvl in attn_levels:
                mods.append(('output_blocks.%d.1.' % ob, 'up_blocks.%d.attentions.%d.' % (up, j), 'same'))
                k = 2
            if lvl != 0 and j == n_res:
                mods.append(('output_blocks.%d.%d.conv.' % (ob, k), 'up_blocks.%d.upsamplers.0.conv.' % up, 'same'))
            ob += 1
    mods += [('out.0.', 'conv_norm_out.', 'same'), ('out.2.', 'conv_out.', 'same')]
    return mods


def vae_modules(levels, n_res):
    mods = []
    for part in ('encoder', 'decoder'):
        mods += [(part + '.conv_in.', part + '.conv_in.', 'same'),
                 (part + '.norm_out.', part + '.conv_norm_out.', 'same'),
                 (part + '.conv_out.', part + '.conv_out.', 'same'),
                 (part + '.mid.block_1.', part + '.mid_block.resnets.0.', 'vres'),
                 (part + '.mid.block_2.', part + '.mid_block.resnets.1.', 'vres'),
                 (part + '.mid.attn_1.', part + '.mid_block.attentions.0.', 'vattn')]
    for lvl in range(levels):
        for j in range(n_res):
            mods.append(('encoder.down.%d.block.%d.' % (lvl, j), 'encoder.down_blocks.%d.resnets.%d.' % (lvl, j), 'vres'))
        if lvl != levels - 1:
            mods.append(('encoder.down.%d.downsample.conv.' % lvl, 'encoder.down_blocks.%d.downsamplers.0.conv.' % lvl, 'same'))
    for up, lvl in enumerate(reversed(range(levels))):
        for j in range(n_res + 1):
            mods.append(('decoder.up.%d.block.%d.' % (lvl, j), 'decoder.up_blocks.%d.resnets.%d.' % (up, j), 'vres'))
        if lvl != 0:
            mods.append(('decoder.up.%d.upsample.conv.' % lvl, 'decoder.up_blocks.%d.upsamplers.0.conv.' % up, 'same'))
    mods += [('quant_conv.', 'quant_conv.', 'same'), ('post_quant_conv.', 'post_quant_conv.', 'same')]
    return mods


def convert(ldm_names, mods):
    rows = []
    for name in sorted(ldm_names):
        hits = [m for m in mods if name.startswith(m[0])]
        assert len(hits) >= 1, name
        ldm, dif, kind = max(hits, key=lambda m: len(m[0]))
        tail = name[len(ldm):]
        if kind == 'res':
            mod, leaf = tail.rsplit('.', 1)
            tail = RES_UNET[mod] + '.' + leaf
        elif kind == 'vres':
            mod, leaf = tail.rsplit('.', 1)
            tail = {'nin_shortcut': 'conv_shortcut'}.get(mod, mod) + '.' + leaf
        elif kind == 'vattn':
            mod, leaf = tail.rsplit('.', 1)
            tail = {'norm': 'group_norm', 'q': 'to_q', 'k': 'to_k', 'v': 'to_v',
                    'proj_out': 'to_out.0'}[mod] + '.' + leaf
        rows.append((name, dif + tail, -1))
    assert len(set(r[1] for r in rows)) == len(rows)
    return rows


def clip_rows(h):
    rows = []
    for name in sorted(h):
        if name.startswith('visual.') or name in ('logit_scale',):
            continue
        if name == 'token_embedding.weight':
            rows.append((name, 'text_model.embeddings.token_embedding.weight', -1))
        elif name == 'positional_embedding':
            rows.append((name, 'text_model.embeddings.position_embedding.weight', -1))
        elif name.startswith('ln_final.'):
            rows.append((name, 'text_model.final_layer_norm.' + name.split('.')[-1], -1))
        elif name == 'text_projection':
            continue   # a CLIPTextModel has none
        elif name.startswith('transformer.resblocks.'):
            i, rest = name[len('transformer.resblocks.'):].split('.', 1)
            pre = 'text_model.encoder.layers.%s.' % i
            if rest.startswith('attn.in_proj_'):
                leaf = 'weight' if rest.endswith('weight') else 'bias'
                for k, q in enumerate('qkv'):
                    rows.append((name, pre + 'self_attn.%s_proj.%s' % (q, leaf), k))
            else:
                m = {'ln_1': 'layer_norm1', 'ln_2': 'layer_norm2', 'attn.out_proj': 'self_attn.out_proj',
                     'mlp.c_fc': 'mlp.fc1', 'mlp.c_proj': 'mlp.fc2'}
                mod, leaf = rest.rsplit('.', 1)
                rows.append((name, pre + m[mod] + '.' + leaf, -1))
        else:
            raise ValueError(name)
    return rows


def write(path, rows):
    with open(path, 'w') as f:
        for a, b, k in rows:
            f.write('%s\t%s\t%d\n' % (a, b, k))


os.makedirs(out, exist_ok=True)
# golden unet_sd1: channel_mult [1, 2], num_res_blocks 1, attention at both levels
write(os.path.join(out, 'unet_sd1.tsv'),
      convert(names(os.path.join(golden, 'unet_sd1/model.safetensors')), unet_modules(2, 1, {0, 1})))
# golden vae: ch_mult [1, 2], num_res_blocks 1
write(os.path.join(out, 'vae.tsv'),
      convert(names(os.path.join(golden, 'vae/model.safetensors')), vae_modules(2, 1)))
write(os.path.join(out, 'clip_text_hf.tsv'), clip_rows(names(os.path.join(golden, 'clip/model.safetensors'))))


# ---- the real Stable Diffusion 1.x / 2.x layout (names only) -------------------
# The full SD 1.5 / 2.x UNet (model_channels 320, channel_mult [1, 2, 4, 4],
# num_res_blocks 2, attention at the top three levels) and VAE (ch 128,
# ch_mult [1, 2, 4, 4], num_res_blocks 2): every LDM tensor name, built
# from the modules' parameters, and its diffusers name.  The test opens a
# diffusers folder holding these names and checks that every LDM name
# appears.  SD 1.5 has 686 UNet and 248 VAE tensors (asserted below).

RES_LEAVES = ['in_layers.0', 'in_layers.2', 'emb_layers.1', 'out_layers.0', 'out_layers.3']
XF_LEAVES = (['norm', 'proj_in', 'proj_out'] +
             ['transformer_blocks.0.' + m for m in
              ('norm1', 'norm2', 'norm3', 'attn1.to_out.0', 'attn2.to_out.0', 'ff.net.0.proj', 'ff.net.2')])
XF_NOBIAS = ['transformer_blocks.0.attn%d.to_%s' % (a, q) for a in (1, 2) for q in 'qkv']


def wb(prefix, mods):
    return [prefix + m + '.' + leaf for m in mods for leaf in ('weight', 'bias')]


def sd_unet_names(mc=320, mult=(1, 2, 4, 4), n_res=2, attn=(0, 1, 2)):
    names = wb('', ['input_blocks.0.0', 'time_embed.0', 'time_embed.2', 'out.0', 'out.2'])
    ch, chans, ib = mc, [mc], 1
    for lvl, m in enumerate(mult):
        for j in range(n_res):
            out = mc * m
            names += wb('input_blocks.%d.0.' % ib, RES_LEAVES + (['skip_connection'] if ch != out else []))
            ch = out
            if lvl in attn:
                names += wb('input_blocks.%d.1.' % ib, XF_LEAVES)
                names += ['input_blocks.%d.1.%s.weight' % (ib, n) for n in XF_NOBIAS]
            chans.append(ch)
            ib += 1
        if lvl != len(mult) - 1:
            names += wb('input_blocks.%d.0.' % ib, ['op'])
            chans.append(ch)
            ib += 1
    names += wb('middle_block.0.', RES_LEAVES) + wb('middle_block.2.', RES_LEAVES)
    names += wb('middle_block.1.', XF_LEAVES) + ['middle_block.1.%s.weight' % n for n in XF_NOBIAS]
    ob = 0
    for lvl in reversed(range(len(mult))):
        for j in range(n_res + 1):
            out = mc * mult[lvl]
            names += wb('output_blocks.%d.0.' % ob, RES_LEAVES + ['skip_connection'])
            ch = out
            chans.pop()
            k = 1
            if lvl in attn:
                names += wb('output_blocks.%d.1.' % ob, XF_LEAVES)
                names += ['output_blocks.%d.1.%s.weight' % (ob, n) for n in XF_NOBIAS]
                k = 2
            if lvl != 0 and j == n_res:
                names += wb('output_blocks.%d.%d.' % (ob, k), ['conv'])
            ob += 1
    return names


def sd_vae_names(ch=128, mult=(1, 2, 4, 4), n_res=2):
    names = []
    res = ['norm1', 'conv1', 'norm2', 'conv2']
    attn = ['norm', 'q', 'k', 'v', 'proj_out']
    c = ch
    names += wb('encoder.', ['conv_in'])
    for lvl, m in enumerate(mult):
        for j in range(n_res):
            names += wb('encoder.down.%d.block.%d.' % (lvl, j), res + (['nin_shortcut'] if c != ch * m else []))
            c = ch * m
        if lvl != len(mult) - 1:
            names += wb('encoder.down.%d.downsample.' % lvl, ['conv'])
    for part in ('encoder', 'decoder'):
        names += wb(part + '.mid.block_1.', res) + wb(part + '.mid.block_2.', res)
        names += wb(part + '.mid.attn_1.', attn)
        names += wb(part + '.', ['norm_out', 'conv_out'])
    names += wb('decoder.', ['conv_in'])
    c = ch * mult[-1]
    for lvl in reversed(range(len(mult))):
        for j in range(n_res + 1):
            names += wb('decoder.up.%d.block.%d.' % (lvl, j), res + (['nin_shortcut'] if c != ch * mult[lvl] else []))
            c = ch * mult[lvl]
        if lvl != 0:
            names += wb('decoder.up.%d.upsample.' % lvl, ['conv'])
    names += wb('', ['quant_conv', 'post_quant_conv'])
    return names


unet15 = sd_unet_names()
vae15 = sd_vae_names()
assert len(unet15) == 686 and len(set(unet15)) == 686, len(unet15)
assert len(vae15) == 248 and len(set(vae15)) == 248, len(vae15)
write(os.path.join(out, 'sd15_unet.tsv'), convert(unet15, unet_modules(4, 2, {0, 1, 2})))
write(os.path.join(out, 'sd15_vae.tsv'), convert(vae15, vae_modules(4, 2)))


# ---- real SD 1.5 and SD 2.x shapes, both layouts ------------------------------
# Every tensor of a full-size checkpoint with its shape, as rows
#   single-file name \t diffusers part/name \t shape
# ("-" where one layout has no such tensor: the SD 2.x single file keeps
# OpenCLIP's 24 layers in cond_stage_model.model.*, its diffusers
# text_encoder is a 23-layer CLIPTextModel).  The test writes them as sparse
# zero-filled F16 files and builds the UNet, VAE and text encoder from both.

def unet_shapes(ctx, linear, mc=320, mult=(1, 2, 4, 4), n_res=2, attn=(0, 1, 2)):
    S = {}
    emb = 4 * mc

    def res(p, cin, cout):
        S[p + 'in_layers.0.weight'] = S[p + 'in_layers.0.bias'] = (cin,)
        S[p + 'in_layers.2.weight'] = (cout, cin, 3, 3); S[p + 'in_layers.2.bias'] = (cout,)
        S[p + 'emb_layers.1.weight'] = (cout, emb); S[p + 'emb_layers.1.bias'] = (cout,)
        S[p + 'out_layers.0.weight'] = S[p + 'out_layers.0.bias'] = (cout,)
        S[p + 'out_layers.3.weight'] = (cout, cout, 3, 3); S[p + 'out_layers.3.bias'] = (cout,)
        if cin != cout:
            S[p + 'skip_connection.weight'] = (cout, cin, 1, 1); S[p + 'skip_connection.bias'] = (cout,)

    def xf(p, c):
        S[p + 'norm.weight'] = S[p + 'norm.bias'] = (c,)
        for m in ('proj_in', 'proj_out'):
            S[p + m + '.weight'] = (c, c) if linear else (c, c, 1, 1); S[p + m + '.bias'] = (c,)
        b = p + 'transformer_blocks.0.'
        for n in ('norm1', 'norm2', 'norm3'):
            S[b + n + '.weight'] = S[b + n + '.bias'] = (c,)
        for a in ('attn1', 'attn2'):
            S[b + a + '.to_q.weight'] = (c, c)
            S[b + a + '.to_k.weight'] = S[b + a + '.to_v.weight'] = (c, c if a == 'attn1' else ctx)
            S[b + a + '.to_out.0.weight'] = (c, c); S[b + a + '.to_out.0.bias'] = (c,)
        S[b + 'ff.net.0.proj.weight'] = (8 * c, c); S[b + 'ff.net.0.proj.bias'] = (8 * c,)
        S[b + 'ff.net.2.weight'] = (c, 4 * c); S[b + 'ff.net.2.bias'] = (c,)

    def conv(p, cout, cin):
        S[p + 'weight'] = (cout, cin, 3, 3); S[p + 'bias'] = (cout,)

    conv('input_blocks.0.0.', mc, 4)
    S['time_embed.0.weight'] = (emb, mc); S['time_embed.0.bias'] = (emb,)
    S['time_embed.2.weight'] = (emb, emb); S['time_embed.2.bias'] = (emb,)
    ch, skips, ib = mc, [mc], 1
    for lvl, m in enumerate(mult):
        for j in range(n_res):
            res('input_blocks.%d.0.' % ib, ch, mc * m); ch = mc * m
            if lvl in attn:
                xf('input_blocks.%d.1.' % ib, ch)
            skips.append(ch); ib += 1
        if lvl != len(mult) - 1:
            conv('input_blocks.%d.0.op.' % ib, ch, ch); skips.append(ch); ib += 1
    res('middle_block.0.', ch, ch); xf('middle_block.1.', ch); res('middle_block.2.', ch, ch)
    ob = 0
    for lvl in reversed(range(len(mult))):
        for j in range(n_res + 1):
            res('output_blocks.%d.0.' % ob, ch + skips.pop(), mc * mult[lvl]); ch = mc * mult[lvl]
            k = 1
            if lvl in attn:
                xf('output_blocks.%d.1.' % ob, ch); k = 2
            if lvl != 0 and j == n_res:
                conv('output_blocks.%d.%d.conv.' % (ob, k), ch, ch)
            ob += 1
    S['out.0.weight'] = S['out.0.bias'] = (mc,)
    conv('out.2.', 4, mc)
    return S


def vae_shapes(ch=128, mult=(1, 2, 4, 4), n_res=2, z=4):
    S = {}

    def conv(p, cout, cin, k=3):
        S[p + 'weight'] = (cout, cin, k, k); S[p + 'bias'] = (cout,)

    def norm(p, c):
        S[p + 'weight'] = S[p + 'bias'] = (c,)

    def res(p, cin, cout):
        norm(p + 'norm1.', cin); conv(p + 'conv1.', cout, cin); norm(p + 'norm2.', cout)
        conv(p + 'conv2.', cout, cout)
        if cin != cout:
            conv(p + 'nin_shortcut.', cout, cin, 1)

    def mid(p, c):
        res(p + 'mid.block_1.', c, c); res(p + 'mid.block_2.', c, c)
        norm(p + 'mid.attn_1.norm.', c)
        for q in ('q', 'k', 'v', 'proj_out'):
            conv(p + 'mid.attn_1.%s.' % q, c, c, 1)

    conv('encoder.conv_in.', ch, 3)
    c = ch
    for lvl, m in enumerate(mult):
        for j in range(n_res):
            res('encoder.down.%d.block.%d.' % (lvl, j), c, ch * m); c = ch * m
        if lvl != len(mult) - 1:
            conv('encoder.down.%d.downsample.conv.' % lvl, c, c)
    mid('encoder.', c); norm('encoder.norm_out.', c); conv('encoder.conv_out.', 2 * z, c)
    conv('quant_conv.', 2 * z, 2 * z, 1); conv('post_quant_conv.', z, z, 1)
    c = ch * mult[-1]
    conv('decoder.conv_in.', c, z); mid('decoder.', c)
    for lvl in reversed(range(len(mult))):
        for j in range(n_res + 1):
            res('decoder.up.%d.block.%d.' % (lvl, j), c, ch * mult[lvl]); c = ch * mult[lvl]
        if lvl != 0:
            conv('decoder.up.%d.upsample.conv.' % lvl, c, c)
    norm('decoder.norm_out.', c); conv('decoder.conv_out.', 3, c)
    return S


def hf_text_shapes(d, layers):
    S = {'text_model.embeddings.token_embedding.weight': (49408, d),
         'text_model.embeddings.position_embedding.weight': (77, d),
         'text_model.final_layer_norm.weight': (d,), 'text_model.final_layer_norm.bias': (d,)}
    for i in range(layers):
        p = 'text_model.encoder.layers.%d.' % i
        for n in ('layer_norm1', 'layer_norm2'):
            S[p + n + '.weight'] = S[p + n + '.bias'] = (d,)
        for q in ('q', 'k', 'v', 'out'):
            S[p + 'self_attn.%s_proj.weight' % q] = (d, d); S[p + 'self_attn.%s_proj.bias' % q] = (d,)
        S[p + 'mlp.fc1.weight'] = (4 * d, d); S[p + 'mlp.fc1.bias'] = (4 * d,)
        S[p + 'mlp.fc2.weight'] = (d, 4 * d); S[p + 'mlp.fc2.bias'] = (d,)
    return S


def openclip_text_shapes(d, layers):
    S = {'token_embedding.weight': (49408, d), 'positional_embedding': (77, d),
         'ln_final.weight': (d,), 'ln_final.bias': (d,), 'text_projection': (d, d)}
    for i in range(layers):
        p = 'transformer.resblocks.%d.' % i
        for n in ('ln_1', 'ln_2'):
            S[p + n + '.weight'] = S[p + n + '.bias'] = (d,)
        S[p + 'attn.in_proj_weight'] = (3 * d, d); S[p + 'attn.in_proj_bias'] = (3 * d,)
        S[p + 'attn.out_proj.weight'] = (d, d); S[p + 'attn.out_proj.bias'] = (d,)
        S[p + 'mlp.c_fc.weight'] = (4 * d, d); S[p + 'mlp.c_fc.bias'] = (4 * d,)
        S[p + 'mlp.c_proj.weight'] = (d, 4 * d); S[p + 'mlp.c_proj.bias'] = (d,)
    return S


def shape_rows(sd2):
    ctx = 1024 if sd2 else 768
    us, vs = unet_shapes(ctx, sd2), vae_shapes()
    assert sorted(us) == sorted(unet15) and sorted(vs) == sorted(vae15)
    umap = dict((a, b) for a, b, _ in convert(list(us), unet_modules(4, 2, {0, 1, 2})))
    vmap = dict((a, b) for a, b, _ in convert(list(vs), vae_modules(4, 2)))
    rows = []
    fmt = lambda s: ','.join(str(x) for x in s)
    for n, s in sorted(us.items()):
        rows.append(('model.diffusion_model.' + n, 'unet/' + umap[n], fmt(s)))
    for n, s in sorted(vs.items()):
        # diffusers keeps the VAE attention as Linear layers
        s2 = s[:2] if '.attentions.' in vmap[n] and len(s) == 4 else s
        rows.append(('first_stage_model.' + n, 'vae/' + vmap[n] + '|' + fmt(s2), fmt(s)))
    if sd2:
        for n, s in sorted(openclip_text_shapes(1024, 24).items()):
            rows.append(('cond_stage_model.model.' + n, '-', fmt(s)))
        for n, s in sorted(hf_text_shapes(1024, 23).items()):
            rows.append(('-', 'text_encoder/' + n, fmt(s)))
    else:
        for n, s in sorted(hf_text_shapes(768, 12).items()):
            rows.append(('cond_stage_model.transformer.' + n, 'text_encoder/' + n, fmt(s)))
    return rows


for sd2, fname in ((False, 'sd15_shapes.tsv'), (True, 'sd2_shapes.tsv')):
    with open(os.path.join(out, fname), 'w') as f:
        for a, b, s in shape_rows(sd2):
            f.write('%s\t%s\t%s\n' % (a, b, s))

#!/usr/bin/python3
"""Write the CLIP test files of tests/data from ../shared/data/golden/clip.

    /usr/bin/python3 tools/make_clip_test_data.py [--golden DIR] [--out DIR]

clip_golden_model.safetensors.gz: the golden model.safetensors (openai/CLIP
layout, F32, metadata kept) with every token_embedding row that no test
prompt uses set to zero, so that the 49,408 × 32 table (6.3 MB) gzips to
almost nothing; the rows the tests read are unchanged, so every golden
output still holds. gzip with mtime 0, so re-running gives the same bytes.
clip_golden_io.safetensors: io.safetensors unchanged (373 KB).
"""

import argparse
import gzip
import io
import json
import os
import shutil
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from ffdnet_torch import write_safetensors  # noqa: E402


def read_safetensors(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    header = json.loads(b[8:8 + n])
    meta = header.pop('__metadata__', {})
    out = []
    for name, v in header.items():
        s, e = v['data_offsets']
        assert v['dtype'] == 'F32'
        out.append((name, np.frombuffer(b[8 + n + s:8 + n + e], dtype='<f4')
                    .reshape(v['shape']).copy()))
    return out, meta


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--golden', default=os.path.join(REPO, '..', 'shared', 'data', 'golden', 'clip'))
    ap.add_argument('--out', default=os.path.join(REPO, 'tests', 'data'))
    args = ap.parse_args(argv)
    io_path = os.path.join(args.golden, 'io.safetensors')
    tensors, _ = read_safetensors(io_path)
    used = set()
    for name, arr in tensors:
        if name.startswith('tokens_'):
            used |= set(int(v) for v in arr.ravel())
    model, meta = read_safetensors(os.path.join(args.golden, 'model.safetensors'))
    for name, arr in model:
        if name == 'token_embedding.weight':
            keep = np.zeros(arr.shape[0], dtype=bool)
            keep[sorted(used)] = True
            arr[~keep] = 0.0
    tmp = os.path.join(args.out, 'clip_golden_model.tmp')
    write_safetensors(tmp, model, meta)
    raw = open(tmp, 'rb').read()
    os.unlink(tmp)
    buf = io.BytesIO()
    with gzip.GzipFile(filename='clip_golden_model.safetensors', mode='wb',
                       fileobj=buf, mtime=0, compresslevel=9) as z:
        z.write(raw)
    with open(os.path.join(args.out, 'clip_golden_model.safetensors.gz'), 'wb') as f:
        f.write(buf.getvalue())
    shutil.copyfile(io_path, os.path.join(args.out, 'clip_golden_io.safetensors'))
    print('%d token rows kept; model %d bytes, gzipped %d'
          % (len(used), len(raw), len(buf.getvalue())))


if __name__ == '__main__':
    main()

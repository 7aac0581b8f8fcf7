#!/usr/bin/env bash
# compare_fill.sh — content-aware fill of a 20% hole in a 2-megapixel photo.
#
#   bench/compare_fill.sh [RUNS] [THREADS...]   (defaults: 5 runs, threads 2 and 1)
#
# The photo is Kodak kodim01 from ../shared/data/testsets (any photo
# works: FILL_IMAGE=path) resized with Pillow's bicubic filter to
# 1732×1155 (2.0 MP) in $TMPDIR. There is no PyTorch PatchMatch and no
# other inpainting (OpenCV, GIMP's Resynthesizer) on this machine, so the
# figures are absolute: best and median time of RUNS runs in one process,
# and the process's peak resident memory. Set BENCH_FILL_OUT=x.png to
# keep the filled image. Needs a release build in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}; shift || true
threads=("$@"); [ ${#threads[@]} -eq 0 ] && threads=(2 1)
[ -x build/bench/bench-fill ] || { meson setup build -Dgimp=none >/dev/null; }
ninja -C build bench/bench-fill >/dev/null
src=${FILL_IMAGE:-../shared/data/testsets/kodak24/kodim01.png}
img=${TMPDIR:-/tmp}/dream-bench-fill-2mp.png
/usr/bin/python3 - "$src" "$img" <<'PY'
import sys
from PIL import Image
Image.open(sys.argv[1]).convert('RGB').resize((1732, 1155), Image.BICUBIC).save(sys.argv[2])
PY
for t in "${threads[@]}"; do
  build/bench/bench-fill "$img" "$t" "$runs" | sed -n '1p;$p'
done

#!/usr/bin/env bash
# compare_clip.sh — CLIP ViT-B/32 in the engine against PyTorch 1.13, alternating.
#
#   bench/compare_clip.sh [ROUNDS] [THREADS...]    (defaults: 3 rounds, threads 2 and 1)
#
# Each round runs bench-clip (one image embedding + 100 caption embeddings,
# best of --runs 1 after a warm-up), then bench-clip --full-context (all 77
# text positions, as PyTorch computes them), then bench/clip_torch_bench.py
# on the same weights and tokens. Prints best and median per engine and the
# ratios torch/dream (above 1 = the engine is faster). The random ViT-B/32
# weights (605 MB) are written once to $TMPDIR by bench-clip.
#
# PyTorch (Debian's, BLAS_INFO=generic) does its Linear layers in the
# system OpenBLAS, which on CPUs newer than 0.3.21 falls back to its SSE3
# kernels and starts its own threads. So PyTorch runs here with the kernel
# family the engine chose (OPENBLAS_CORETYPE) and OPENBLAS_NUM_THREADS =
# the thread count: the same sgemm for both. Set TORCH_AS_INSTALLED=1 to
# time PyTorch without that help instead.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}; shift || true
threads=("$@"); [ ${#threads[@]} -eq 0 ] && threads=(2 1)
export DREAM_MODELS_DIR=$PWD/models
tmp=${TMPDIR:-/tmp}
model=$tmp/dream-bench-clip-b32.safetensors
tokens=$tmp/dream-bench-clip-tokens.safetensors
[ -f build/build.ninja ] || meson setup build -Dgimp=none >/dev/null
ninja -C build bench/bench-clip >/dev/null
kernel=$(build/bench/bench-clip --runs 1 --threads 1 --model "$model" --write-tokens "$tokens" | sed -n 's/.* blas=\([A-Za-z0-9]*\).*/\1/p')
torch_env() {
  if [ -n "${TORCH_AS_INSTALLED:-}" ]; then env "$@"; else OPENBLAS_CORETYPE=$kernel OPENBLAS_NUM_THREADS=$t env "$@"; fi
}
if [ -n "${TORCH_AS_INSTALLED:-}" ]; then how="as installed"; else how="OPENBLAS_CORETYPE=$kernel"; fi
echo "engine sgemm kernel: $kernel; PyTorch: $how"

field() { sed -n "s/.* $1 best=\([0-9.]*\)s.*/\1/p"; }
stats() { sort -g | awk '{v[NR]=$1} END {m = NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%.4f %.4f\n", v[1], m}'; }
for t in "${threads[@]}"; do
  for f in di dt fi ft ti tt; do : > "$tmp/clip-bench-$f.$$"; done
  for r in $(seq "$rounds"); do
    d=$(build/bench/bench-clip --threads "$t" --runs 1 --model "$model" | tail -1)
    f=$(build/bench/bench-clip --threads "$t" --runs 1 --model "$model" --full-context | tail -1)
    p=$(torch_env /usr/bin/python3 bench/clip_torch_bench.py --threads "$t" --runs 1 --model "$model" --tokens "$tokens" | tail -1)
    echo "$d" | field image >> "$tmp/clip-bench-di.$$"; echo "$d" | field text100 >> "$tmp/clip-bench-dt.$$"
    echo "$f" | field image >> "$tmp/clip-bench-fi.$$"; echo "$f" | field text100 >> "$tmp/clip-bench-ft.$$"
    echo "$p" | field image >> "$tmp/clip-bench-ti.$$"; echo "$p" | field text100 >> "$tmp/clip-bench-tt.$$"
    echo "  round $r threads=$t: dream image $(echo "$d" | field image)s text100 $(echo "$d" | field text100)s (full context $(echo "$f" | field text100)s) | torch image $(echo "$p" | field image)s text100 $(echo "$p" | field text100)s"
  done
  read -r dib dim < <(stats < "$tmp/clip-bench-di.$$"); read -r dtb dtm < <(stats < "$tmp/clip-bench-dt.$$")
  read -r ftb ftm < <(stats < "$tmp/clip-bench-ft.$$")
  read -r tib tim < <(stats < "$tmp/clip-bench-ti.$$"); read -r ttb ttm < <(stats < "$tmp/clip-bench-tt.$$")
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
  echo "clip-b32 threads=$t rounds=$rounds:"
  echo "  image   dream best=${dib}s median=${dim}s | torch best=${tib}s median=${tim}s | torch/dream best=$(ratio "$tib" "$dib") median=$(ratio "$tim" "$dim")"
  echo "  text100 dream best=${dtb}s median=${dtm}s | torch best=${ttb}s median=${ttm}s | torch/dream best=$(ratio "$ttb" "$dtb") median=$(ratio "$ttm" "$dtm")"
  echo "  text100 full 77 positions: dream best=${ftb}s median=${ftm}s | torch/dream best=$(ratio "$ttb" "$ftb") median=$(ratio "$ttm" "$ftm")"
  rm -f "$tmp"/clip-bench-*."$$"
done

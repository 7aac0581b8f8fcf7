#!/usr/bin/env bash
# compare_sd.sh — the engine against PyTorch 1.13 on the SD 1.5 UNet and VAE
# decoder, alternating.
#
#   bench/compare_sd.sh CKPT [ROUNDS] [THREADS...]   (defaults: 3 rounds, threads 2 and 1)
#
# CKPT: an SD 1.5-size checkpoint in the original layout, e.g. random
# weights from `/usr/bin/python3 bench/sd_torch.py make-weights CKPT`
# (1.9 GB F16). Work: unet = one classifier-free-guidance evaluation
# (batch 2, 64x64 latent, 77x768 context); vae = decoder 64x64 -> 512x512.
# Each round runs one engine process, then one PyTorch process (each with
# one untimed warm-up). The machine is shared: wall times swing with the
# other load, so CPU times (process user+sys of the cheapest run) are
# printed too. Prints best and median of each, the ratio torch/dream
# (above 1 = the engine is faster) and each one's peak resident memory.
#
# Debian's PyTorch does its matrix products (linear layers, attention) in
# the system OpenBLAS, whose 0.3.21 falls back to SSE3 kernels on recent
# Xeons unless told the core type (5x slower; see engine/ops/gemm.c). The
# engine picks the kernel from the CPU flags itself; for a fair race
# PyTorch gets the same choice through OPENBLAS_CORETYPE (an existing
# value is kept). Its convolutions run in oneDNN either way. OpenBLAS's
# own thread pool ignores torch.set_num_threads, so PyTorch runs with
# OMP_NUM_THREADS and OPENBLAS_NUM_THREADS set to the thread count too.
#
# Then the whole pipeline: `dream generate` at 512x512, 1 Euler step with
# guidance (text encoder, one batch-2 UNet evaluation, VAE decode), its
# wall time and peak resident memory (/usr/bin/time -v) per thread count.
# It needs a checkpoint with a text encoder: CKPT if it has one, else
# $GEN_CKPT (`sd_torch.py make-weights OUT --text` makes one); skipped
# without.
set -euo pipefail
cd "$(dirname "$0")/.."
ckpt=${1:?usage: bench/compare_sd.sh CKPT [ROUNDS] [THREADS...]}; shift
rounds=${1:-3}; shift || true
threads=("$@"); [ ${#threads[@]} -eq 0 ] && threads=(2 1)
[ -x build/bench/bench-unet ] || { meson setup build -Dgimp=none >/dev/null; }
ninja -C build bench/bench-unet cli/dream >/dev/null

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
stats() {  # "best median" of the numbers on stdin
  sort -g | awk '{v[NR]=$1} END {m = NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%.3f %.3f\n", v[1], m}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  flags=$(grep -m1 '^flags' /proc/cpuinfo)
  if [[ $flags == *avx512f* && $flags == *avx512bw* && $flags == *avx512vl* && $flags == *avx512dq* ]]; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif [[ $flags == *avx2* && $flags == *fma* ]]; then
    export OPENBLAS_CORETYPE=Haswell
  fi
fi
echo "PyTorch's OpenBLAS kernel: ${OPENBLAS_CORETYPE:-automatic}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for what in unet vae; do
  for t in "${threads[@]}"; do
    : > "$tmp/d"; : > "$tmp/t"; : > "$tmp/dc"; : > "$tmp/tc"
    for r in $(seq "$rounds"); do
      d=$(build/bench/bench-unet --weights "$ckpt" --what "$what" --threads "$t" --runs 1 2>/dev/null | tail -1)
      p=$(OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t /usr/bin/python3 bench/sd_torch.py bench \
            --weights "$ckpt" --what "$what" --threads "$t" --runs 1 | tail -1)
      echo "$d" | field best >> "$tmp/d"; echo "$p" | field best >> "$tmp/t"
      echo "$d" | field cpu_best >> "$tmp/dc"; echo "$p" | field cpu_best >> "$tmp/tc"
      dm=$(echo "$d" | field peak_rss); tm=$(echo "$p" | field peak_rss)
      echo "  $what threads=$t round $r: dream $(echo "$d" | field best)s (cpu $(echo "$d" | field cpu_best)s)  torch $(echo "$p" | field best)s (cpu $(echo "$p" | field cpu_best)s)"
    done
    read -r db dmed < <(stats < "$tmp/d"); read -r tb tmed < <(stats < "$tmp/t")
    read -r dc _ < <(stats < "$tmp/dc"); read -r tc _ < <(stats < "$tmp/tc")
    echo "sd15-$what threads=$t rounds=$rounds: dream best=${db}s median=${dmed}s cpu=${dc}s peak=${dm} MiB | torch best=${tb}s median=${tmed}s cpu=${tc}s peak=${tm} MiB | torch/dream best=$(ratio "$tb" "$db") median=$(ratio "$tmed" "$dmed") cpu=$(ratio "$tc" "$dc")"
  done
done

gen=${GEN_CKPT:-$ckpt}
for t in "${threads[@]}"; do
  : > "$tmp/g"; peak=0
  for r in $(seq "$rounds"); do
    if ! /usr/bin/time -v build/cli/dream generate "a lighthouse on a cliff at dusk" -m "$gen" \
         --steps 1 --cfg 7.5 --sampler euler --seed 1 -W 512 -H 512 --threads "$t" -q \
         -o "$tmp/gen.png" > "$tmp/gout" 2> "$tmp/gerr"; then
      echo "sd15-generate: skipped ($(grep -v '^\s' "$tmp/gerr" | head -1))"; break 2
    fi
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp/gerr" | awk -F: '{s=0; for(i=1;i<=NF;i++) s=s*60+$i; print s}')
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/gerr")
    echo "$wall" >> "$tmp/g"; peak=$(( rss / 1024 > peak ? rss / 1024 : peak ))
    echo "  generate threads=$t round $r: ${wall}s peak $(( rss / 1024 )) MiB"
  done
  read -r gb gmed < <(stats < "$tmp/g")
  echo "sd15-generate 512x512 1 step cfg threads=$t rounds=$rounds: best=${gb}s median=${gmed}s peak_rss=${peak} MiB"
done

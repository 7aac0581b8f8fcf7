#!/usr/bin/env bash
# compare.sh — the engine against PyTorch 1.13 on the same work, alternating.
#
#   bench/compare.sh [ROUNDS] [THREADS...]     (defaults: 5 rounds, threads 2 and 1)
#
# The machine is shared and its second core comes and goes, so the two
# engines are never timed in separate blocks: each round runs one timed
# FFDNet-colour 1024×1024 denoise in the engine, then one in PyTorch (each
# process does one untimed warm-up first). Prints best and median of each,
# the ratio torch/dream (above 1 = the engine is faster) and each one's
# peak resident memory. Needs a release build in build/ (tests/run engine).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}; shift || true
threads=("$@"); [ ${#threads[@]} -eq 0 ] && threads=(2 1)
export DREAM_MODELS_DIR=$PWD/models
[ -x build/bench/bench-ffdnet ] || { meson setup build -Dgimp=none >/dev/null; }
ninja -C build bench/bench-ffdnet >/dev/null

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
stats() {  # prints "best median" of the numbers on stdin
  sort -g | awk '{v[NR]=$1} END {m = NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%.3f %.3f\n", v[1], m}'
}
for t in "${threads[@]}"; do
  : > /tmp/dream-bench-d.$$; : > /tmp/dream-bench-t.$$; dm=0; tm=0
  for r in $(seq "$rounds"); do
    d=$(build/bench/bench-ffdnet --threads "$t" --runs 1 | tail -1)
    p=$(/usr/bin/python3 bench/ffdnet_torch_bench.py --threads "$t" --runs 1 | tail -1)
    echo "$d" | field best >> /tmp/dream-bench-d.$$
    echo "$p" | field best >> /tmp/dream-bench-t.$$
    dm=$(echo "$d" | field peak_rss); tm=$(echo "$p" | field peak_rss)
    echo "  round $r: dream $(echo "$d" | field best)s  torch $(echo "$p" | field best)s"
  done
  read -r db dmed < <(stats < /tmp/dream-bench-d.$$)
  read -r tb tmed < <(stats < /tmp/dream-bench-t.$$)
  echo "ffdnet-color 1024x1024 threads=$t rounds=$rounds: dream best=${db}s median=${dmed}s peak=${dm} MiB | torch best=${tb}s median=${tmed}s peak=${tm} MiB | ratio torch/dream best=$(awk -v a="$tb" -v b="$db" 'BEGIN{printf "%.2f", a/b}') median=$(awk -v a="$tmed" -v b="$dmed" 'BEGIN{printf "%.2f", a/b}')"
  rm -f /tmp/dream-bench-d.$$ /tmp/dream-bench-t.$$
done

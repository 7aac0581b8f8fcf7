#!/usr/bin/env bash
# compare_upscale.sh — the engine's upscaling against PyTorch 1.13, alternating.
#
#   bench/compare_upscale.sh [ROUNDS] [THREADS...]   (defaults: 5 rounds, threads 2 and 1)
#
# Two cases, the issue's: SRVGGNetCompact (Real-ESRGAN general v3, 32 body
# convs) 256×256 -> 1024×1024, and RRDBNet at its real size (23 blocks, 64
# features, growth 32: RealESRGAN_x4plus; synthetic weights, the same
# FLOPs) 128×128 -> 512×512. The machine is shared and its second core
# comes and goes, so the engines are never timed in separate blocks: each
# round runs one timed engine run, then one timed PyTorch run (each
# process does one untimed warm-up first). Prints best and median of
# each, the ratio torch/dream (above 1 = the engine is faster) and each
# one's peak resident memory. Needs a release build in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}; shift || true
threads=("$@"); [ ${#threads[@]} -eq 0 ] && threads=(2 1)
export DREAM_MODELS_DIR=$PWD/models
[ -x build/bench/bench-upscale ] || { meson setup build -Dgimp=none >/dev/null; }
ninja -C build bench/bench-upscale >/dev/null

rrdb=${TMPDIR:-/tmp}/dream-bench-rrdb-x4.safetensors
if [ ! -f "$rrdb" ]; then
  /usr/bin/python3 - "$rrdb" <<'PY'
import sys
sys.path.insert(0, 'tools')
from sr_torch import synthetic_rrdb, rrdb_keys
from st_io import write_safetensors
st = synthetic_rrdb(1234, 23)
write_safetensors(sys.argv[1], [(k, st[k]) for k, _, _ in rrdb_keys(23)],
                  {'architecture': 'rrdb', 'note': 'synthetic weights for benchmarks'})
PY
fi

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
stats() {  # prints "best median" of the numbers on stdin
  sort -g | awk '{v[NR]=$1} END {m = NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%.3f %.3f\n", v[1], m}'
}
run_case() {  # name model size threads
  local name=$1 model=$2 size=$3 t=$4 dm=0 tm=0
  : > /tmp/dream-bench-d.$$; : > /tmp/dream-bench-t.$$
  for r in $(seq "$rounds"); do
    d=$(build/bench/bench-upscale --model "$model" --size "$size" --threads "$t" --runs 1 | tail -1)
    p=$(/usr/bin/python3 bench/upscale_torch_bench.py --model "$model" --size "$size" --threads "$t" --runs 1 | tail -1)
    echo "$d" | field best >> /tmp/dream-bench-d.$$
    echo "$p" | field best >> /tmp/dream-bench-t.$$
    dm=$(echo "$d" | field peak_rss); tm=$(echo "$p" | field peak_rss)
    echo "  $name threads=$t round $r: dream $(echo "$d" | field best)s  torch $(echo "$p" | field best)s"
  done
  read -r db dmed < <(stats < /tmp/dream-bench-d.$$)
  read -r tb tmed < <(stats < /tmp/dream-bench-t.$$)
  echo "$name threads=$t rounds=$rounds: dream best=${db}s median=${dmed}s peak=${dm} MiB | torch best=${tb}s median=${tmed}s peak=${tm} MiB | ratio torch/dream best=$(awk -v a="$tb" -v b="$db" 'BEGIN{printf "%.2f", a/b}') median=$(awk -v a="$tmed" -v b="$dmed" 'BEGIN{printf "%.2f", a/b}')"
  rm -f /tmp/dream-bench-d.$$ /tmp/dream-bench-t.$$
}
for t in "${threads[@]}"; do
  run_case "srvgg-general-x4v3 256x256->1024x1024" models/realesr-general-x4v3.safetensors 256 "$t"
  run_case "rrdb-x4plus(23 blocks) 128x128->512x512" "$rrdb" 128 "$t"
done

#!/bin/sh
# run-fuzz.sh — builds the safetensors libFuzzer target with clang
# (ASan + UBSan) and fuzzes it for $1 seconds (default 60) on a copy of
# tests/fuzz/corpus, with the header's JSON words from safetensors.dict.
# Exits non-zero on any crash, leak or sanitizer report; then the crashing
# input and the full log are kept and their paths printed.
#
#   tests/fuzz/run-fuzz.sh [seconds]
set -eu

seconds=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cc=${CC_FUZZ:-clang}
work=$(mktemp -d "${TMPDIR:-/tmp}/dream-fuzz-XXXXXX")

# dream_error_quark lives in engine/core/error.c; the target needs only it.
cat > "$work/quark.c" <<'QUARK'
#include <glib.h>
GQuark dream_error_quark (void);
G_DEFINE_QUARK (dream-error-quark, dream_error)
QUARK

# shellcheck disable=SC2046  # pkg-config output is meant to be split
"$cc" -std=c11 -D_GNU_SOURCE -g -O1 \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$root/engine/include" -I"$root/engine" \
  "$here/fuzz_safetensors.c" "$root/engine/io/safetensors.c" "$work/quark.c" \
  $(pkg-config --cflags --libs glib-2.0 json-glib-1.0) \
  -o "$work/fuzz_safetensors"

mkdir "$work/corpus" "$work/artifacts"
cp "$here"/corpus/* "$work/corpus/"

status=0
"$work/fuzz_safetensors" -max_total_time="$seconds" -max_len=4096 \
  -dict="$here/safetensors.dict" -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" > "$work/fuzz.log" 2>&1 || status=$?

stat_of() { sed -n "s/^stat::$1: *//p" "$work/fuzz.log" | tail -n 1; }
execs=$(stat_of number_of_executed_units)
rss=$(stat_of peak_rss_mb)
cov=$(grep -o 'cov: [0-9]*' "$work/fuzz.log" | tail -n 1 | cut -d' ' -f2)
units=$(find "$work/corpus" -type f | wc -l)

if [ "$status" -ne 0 ] || [ -n "$(find "$work/artifacts" -type f)" ]; then
  echo "fuzz_safetensors: FAILED (status $status) after ${execs:-?} execs;" \
       "log $work/fuzz.log, inputs in $work/artifacts/"
  exit 1
fi
echo "fuzz_safetensors: OK, ${execs:-?} execs in ${seconds}s," \
     "cov ${cov:-?}, corpus $units files, peak ${rss:-?} MB"
rm -rf "$work"

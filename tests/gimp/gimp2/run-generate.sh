# run-generate.sh — GIMP 2.10 tests of plug-in-dream-txt2img and
# plug-in-dream-img2img (Text to Image, Reimagine Layer, Rank by CLIP).
# Sourced at the end of run.sh (POSIX sh; uses run_gimp, $D, $DREAM, $PY,
# $WORK, $HERE); the Script-Fu side is dl2-generate.scm, the verdicts
# gen-check.py. Models: the tiny SD checkpoint and the tiny CLIP model of
# tests/data (gunzipped into $D). Sets part_failed=1 on any failure.
#
# Standalone (skips the denoise tests): DREAM_GEN_STANDALONE=1
#   sh tests/gimp/gimp2/run-generate.sh [BUILD_DIR]

if [ "${DREAM_GEN_STANDALONE:-0}" = 1 ] && [ -z "${WORK:-}" ]; then
  HERE=$(cd "$(dirname "$0")" && pwd)
  SRC=$(cd "$HERE/../../.." && pwd)
  BUILD=${1:-$SRC/build-gimp2}
  PY=/usr/bin/python3
  ninja -C "$BUILD" >"$BUILD/gimp2-ninja.log" 2>&1 || { tail -30 "$BUILD/gimp2-ninja.log"; exit 1; }
  DREAM="$BUILD/cli/dream"
  WORK="$BUILD/gimp2-gen-test"
  rm -rf "$WORK"; mkdir -p "$WORK/data"
  export GIMP2_DIRECTORY="$WORK/profile"
  export DREAM_MODELS_DIR="$SRC/models"
  unset DREAM_TEST_CANCEL_AT
  timeout 120 gimp-console-2.10 -i -d -f -b '(gimp-quit 0)' >"$WORK/init.log" 2>&1
  cp "$BUILD/plugin/gimp2/dreamlayer" "$GIMP2_DIRECTORY/plug-ins/"
  cp "$HERE"/dl2-*.scm "$GIMP2_DIRECTORY/scripts/"
  D="$WORK/data"
  "$PY" "$HERE/dl2check.py" make "$D" || exit 1
  run_gimp () {
    log=$1; shift
    n=$#
    for e in "$@"; do set -- "$@" -b "$e"; done
    shift $n
    timeout 600 gimp-console-2.10 -i -d -f "$@" -b '(gimp-quit 0)' >"$log" 2>&1
  }
  part_failed=0
fi

gen_sd="$D/sd_tiny.safetensors"
gen_clip="$D/clip_tiny.safetensors"
gunzip -c "$HERE/../../data/sd_tiny.safetensors.gz" >"$gen_sd" \
  && gunzip -c "$HERE/../../data/clip_golden_model.safetensors.gz" >"$gen_clip" \
  || { echo "FAIL generate: tests/data/sd_tiny.safetensors.gz or clip_golden_model.safetensors.gz missing"; part_failed=1; }

run_gimp "$WORK/gen-batch.log" \
  "(dlg-g1 \"$D\" \"$gen_sd\")" "(dlg-g2 \"$D\" \"$gen_sd\")" \
  "(dlg-g3 \"$D\" \"$gen_sd\")" "(dlg-g4 \"$D\" \"$gen_sd\")" \
  "(dlg-g6 \"$D\")" "(dlg-g7 \"$D\" \"$gen_sd\")" \
  "(dlg-g8 \"$D\" \"$gen_sd\" \"$gen_clip\")"
export DREAM_TEST_CANCEL_AT=0.3   # test hook of plugin/dream-gen-pixels.c
run_gimp "$WORK/gen-cancel.log" "(dlg-g5 \"$D\" \"$gen_sd\")"
unset DREAM_TEST_CANCEL_AT

# the dialogs in a real window (gen_gui2.py); the tiny model plays shapes-sd
if command -v xvfb-run >/dev/null && command -v xdotool >/dev/null; then
  mkdir -p "$D/as-bundled"
  cp "$gen_sd" "$D/as-bundled/shapes-sd.safetensors"
  DREAM_MODELS_DIR="$D/as-bundled" timeout 300 xvfb-run -a -s "-screen 0 1280x900x24" \
    "$PY" "$HERE/gen_gui2.py" "$D/up-in.png" "$D" >"$WORK/gen-gui.log" 2>&1
  rm -rf "$GIMP2_DIRECTORY/backups/"* 2>/dev/null
else
  echo "DL|g9|status|needs xvfb-run and xdotool" >"$WORK/gen-gui.log"
fi

"$PY" "$HERE/../common/gen_check.py" gimp2 "$D" "$DREAM" "$gen_sd" "$gen_clip" \
  "$WORK/gen-batch.log" "$WORK/gen-cancel.log" "$WORK/gen-gui.log" || part_failed=1

if [ "${DREAM_GEN_STANDALONE:-0}" = 1 ]; then
  [ "$part_failed" -eq 0 ]; exit $?
fi

#!/bin/sh
# tests/gimp/gimp2/run.sh — GIMP 2.10 tests of plug-in-dream-denoise and
# plug-in-dream-upscale (t11-t15).
#
#   tests/gimp/gimp2/run.sh [BUILD_DIR]
#
# Builds the project for GIMP 2.10 (meson -Dgimp=2) into BUILD_DIR (default
# build-gimp2/ at the top of the source tree) unless BUILD_DIR is given and
# already configured, makes a throw-away GIMP profile there, installs the
# plug-in and the Script-Fu tests into it and runs gimp-console-2.10 in
# batch mode. Tests 8 (undo) and 10 (the dialog) need a real window: they
# run GIMP under xvfb-run, drive it through the Script-Fu server and press
# keys with xdotool (Ctrl+Z / Ctrl+Y; Alt+E, Alt+O in the dialog).
#
# Prints one PASS/FAIL line per test and ends with "N passed, M failed";
# exits non-zero on any failure. Needs: gimp (2.10), libgimp2.0-dev, meson,
# ninja, python3 with numpy and PIL; for tests 8 and 10 also xvfb, xdotool.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../../.." && pwd)
BUILD=${1:-$SRC/build-gimp2}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
START=$(date +%s)

die () { echo "run.sh: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

# ---- build -------------------------------------------------------------------
if [ ! -f "$BUILD/build.ninja" ]; then
  setup_log=${TMPDIR:-/tmp}/dreamlayer-gimp2-setup.$$.log
  meson setup "$BUILD" "$SRC" -Dgimp=2 >"$setup_log" 2>&1 \
    || { cat "$setup_log" >&2; rm -f "$setup_log"; die "meson setup failed"; }
  rm -f "$setup_log"
fi
ninja -C "$BUILD" >"$BUILD/gimp2-ninja.log" 2>&1 \
  || { tail -40 "$BUILD/gimp2-ninja.log" >&2; die "build failed"; }
PLUGIN="$BUILD/plugin/gimp2/dreamlayer"
DREAM="$BUILD/cli/dream"
[ -x "$PLUGIN" ] || die "no $PLUGIN (was the project configured with -Dgimp=2?)"
[ -x "$DREAM" ] || die "no $DREAM"

# ---- a throw-away GIMP profile ----------------------------------------------
WORK="$BUILD/gimp2-test"
rm -rf "$WORK"
mkdir -p "$WORK/data"
export GIMP2_DIRECTORY="$WORK/profile"
export DREAM_MODELS_DIR="$SRC/models"
unset DREAM_TEST_CANCEL_AT
# Let GIMP create the profile itself (an empty folder makes it complain).
timeout 120 gimp-console-2.10 -i -d -f -b '(gimp-quit 0)' >"$WORK/init.log" 2>&1
[ -d "$GIMP2_DIRECTORY/plug-ins" ] || die "GIMP did not create its profile (see $WORK/init.log)"
cp "$PLUGIN" "$GIMP2_DIRECTORY/plug-ins/"
cp "$HERE"/dl2-*.scm "$GIMP2_DIRECTORY/scripts/"   # dl2-tests.scm + other areas' parts

# ---- inputs and references ----------------------------------------------------
D="$WORK/data"
# Inputs: tests/data/gimp/ (shared with the GIMP 3 tests) + crops + a bad model.
"$PY" "$HERE/dl2check.py" make "$D" || die "could not make the test images"
"$DREAM" denoise --sigma 25 --model color "$D/noisy.png" "$D/ref-color.png" \
  && "$DREAM" denoise --sigma 25 --model gray "$D/noisy-gray.png" "$D/ref-gray.png" \
  || die "dream denoise (the CLI) failed"
"$DREAM" denoise --sigma 25 --model color "$D/crop.png" "$D/ref-crop.png" \
  && "$DREAM" denoise --sigma 25 --model color "$D/offset.png" "$D/ref-offset.png" \
  || die "dream denoise (the CLI) failed on the crops"
"$DREAM" upscale --quiet --scale 2 --model photo "$D/up-in.png" "$D/ref-up2.png" \
  || die "dream upscale (the CLI) failed"

# ---- batch tests ----------------------------------------------------------------
# The exit code of gimp-console is 0 even when a batch fails: the facts the
# tests print and the files they save are what counts.
run_gimp () {  # LOG EXPR...  (each EXPR its own -b, so one cannot break another)
  log=$1; shift
  n=$#
  for e in "$@"; do set -- "$@" -b "$e"; done
  shift $n
  timeout 600 gimp-console-2.10 -i -d -f "$@" -b '(gimp-quit 0)' >"$log" 2>&1
  rc=$?
  [ $rc -eq 0 ] || echo "run.sh: gimp-console exited with $rc (see $log)" >&2
}

run_gimp "$WORK/batch.log" \
  "(dl-t1 \"$D\")" "(dl-t2 \"$D\")" "(dl-t3 \"$D\")" "(dl-t4 \"$D\")" \
  "(dl-t5 \"$D\")" "(dl-t6 \"$D\")" "(dl-t9 \"$D\")" \
  "(dl-t11 \"$D\")" "(dl-t12 \"$D\")" "(dl-t13 \"$D\")" "(dl-t15 \"$D\")"

export DREAM_TEST_CANCEL_AT=0.3     # test hook in plugin/dream-pixels.c
run_gimp "$WORK/cancel.log" "(dl-t7 \"$D\")" "(dl-t14 \"$D\")"
unset DREAM_TEST_CANCEL_AT

# ---- undo in a real window -------------------------------------------------------
: >"$WORK/gui.log"
if command -v xvfb-run >/dev/null && command -v xdotool >/dev/null; then
  timeout 300 xvfb-run -a -s "-screen 0 1280x900x24" \
    "$PY" "$HERE/dl2gui.py" gui "$D" >"$WORK/gui.log" 2>&1 \
    || echo "run.sh: the GUI tests did not finish (see $WORK/gui.log)" >&2
  rm -rf "$GIMP2_DIRECTORY/backups/"* 2>/dev/null
else
  printf "DL|t8|status|needs xvfb-run and xdotool\nDL|t10|status|needs xvfb-run and xdotool\n" >"$WORK/gui.log"
fi

# ---- judge -------------------------------------------------------------------------
grep -h "execution error" "$WORK/batch.log" "$WORK/cancel.log" >&2
"$PY" "$HERE/dl2check.py" judge "$D" "$WORK/batch.log" "$WORK/cancel.log" "$WORK/gui.log"
status=$?

# ---- other procedure areas ---------------------------------------------------------
# run-<area>.sh beside this file is sourced here: it may use run_gimp, $D,
# $DREAM, $PLUGIN, $PY, $WORK and its own dl2-<area>.scm (already in the
# profile), prints its own PASS/FAIL lines and "N passed, M failed", and
# sets part_failed=1 on any failure.
for part in "$HERE"/run-*.sh; do
  [ -f "$part" ] || continue
  part_failed=0
  # shellcheck disable=SC1090
  . "$part"
  [ "$part_failed" -eq 0 ] || status=1
done
echo "wall time: $(( $(date +%s) - START )) s (logs in $WORK)" >&2
exit $status

# run-inpaint.sh — GIMP 2.10 tests of plug-in-dream-inpaint and
# plug-in-dream-outpaint; sourced at the end of run.sh (POSIX sh), which
# provides run_gimp, $D (inputs), $DREAM (the CLI), $PY, $WORK, and has put
# dl2-inpaint.scm into the profile. Prints PASS/FAIL per test and
# "N passed, M failed"; sets part_failed=1 on any failure.
#
# The GIMP side (dl2-inpaint.scm) runs first and saves the selections it
# made; the CLI references are computed from those same masks afterwards:
#   i1  rectangle, sampled around it (64 px)   = dream inpaint --context 64
#   i2  feathered ellipse, whole image, seed 3 = dream inpaint --seed 3
#   o1  32 px left + top, blend 16             = dream outpaint --left 32 --top 32
#   o4  to 16:9, picture at the left           = dream outpaint --aspect 16:9 --anchor left
#   i7  generate with the tiny SD checkpoint (tests/data/sd_tiny), twice:
#       the same pixels, = dream inpaint --prompt; outside the selection
#       the picture is unchanged
# and the rest are the errors (no / full / off-layer selection, indexed,
# generate without a model, nothing to extend, o5 a target smaller than
# the canvas) and cancels
# (DREAM_TEST_CANCEL_AT).
echo "-- Inpaint Selection / Extend Canvas (GIMP 2.10)"
IHERE="$SRC/tests/gimp/gimp2"
cp "$SRC/tests/data/gimp/kodim23-crop.png" "$D/photo.png"
gzip -dc "$SRC/tests/data/sd_tiny.safetensors.gz" >"$D/sd_tiny.safetensors"   # tiny SD 1.x
run_gimp "$WORK/inpaint.log" \
  "(dli-i1 \"$D\")" "(dli-i2 \"$D\")" "(dli-i3 \"$D\")" "(dli-i4 \"$D\")" \
  "(dli-i5 \"$D\")" "(dli-i6 \"$D\")" "(dli-i7 \"$D\")" "(dli-i7b \"$D\")" "(dli-i9 \"$D\")" \
  "(dli-o1 \"$D\")" "(dli-o2 \"$D\")" "(dli-o4 \"$D\")" "(dli-o5 \"$D\")"
export DREAM_TEST_CANCEL_AT=0.3     # test hook in plugin/dream-pixels.c
run_gimp "$WORK/inpaint-cancel.log" "(dli-i8 \"$D\")" "(dli-o3 \"$D\")"
unset DREAM_TEST_CANCEL_AT
# both dialogs in a real window, one Ctrl+Z each (g1)
: >"$WORK/inpaint-gui.log"
if command -v xvfb-run >/dev/null && command -v xdotool >/dev/null; then
  mkdir -p "$WORK/inpaint-gui"
  timeout 400 xvfb-run -a -s "-screen 0 1280x900x24" \
    "$PY" "$IHERE/dl2-inpaint-gui.py" "$D/photo.png" "$WORK/inpaint-gui" >"$WORK/inpaint-gui.log" 2>&1 \
    || echo "run-inpaint.sh: the GUI test did not finish (see $WORK/inpaint-gui.log)" >&2
  rm -rf "$GIMP2_DIRECTORY/backups/"* 2>/dev/null
else
  echo "DL|g1|status|needs xvfb-run and xdotool" >"$WORK/inpaint-gui.log"
fi
"$PY" "$IHERE/dl2-inpaint-check.py" masks "$D"
"$DREAM" inpaint --quiet --mask "$D/i1-cli-mask.png" --context 64 --seed 0 "$D/photo.png" "$D/ref-i1.png" \
  || echo "run-inpaint.sh: dream inpaint (i1) failed" >&2
"$DREAM" inpaint --quiet --mask "$D/i2-cli-mask.png" --context 0 --seed 3 "$D/photo.png" "$D/ref-i2.png" \
  || echo "run-inpaint.sh: dream inpaint (i2) failed" >&2
"$DREAM" inpaint --quiet --mask "$D/i7-cli-mask.png" --prompt "a red bird" --negative "blurry" \
  -m "$D/sd_tiny.safetensors" --seed 7 --steps 4 --cfg 7.5 --strength 1 "$D/photo.png" "$D/ref-i7.png" \
  || echo "run-inpaint.sh: dream inpaint --prompt (i7) failed" >&2
"$DREAM" outpaint --quiet --left 32 --top 32 --feather 16 --context 0 --seed 0 "$D/photo.png" "$D/ref-o1.png" \
  || echo "run-inpaint.sh: dream outpaint (o1) failed" >&2
"$DREAM" outpaint --quiet --aspect 16:9 --anchor left --feather 16 --context 0 --seed 0 \
  "$D/photo.png" "$D/ref-o4.png" \
  || echo "run-inpaint.sh: dream outpaint --aspect (o4) failed" >&2
"$PY" "$IHERE/dl2-inpaint-check.py" judge "$D" "$WORK/inpaint.log" "$WORK/inpaint-cancel.log" "$WORK/inpaint-gui.log" \
  || part_failed=1

# run-clip.sh — GIMP 2.10 tests of plug-in-dream-clip-score and
# plug-in-dream-describe, sourced by run.sh (uses run_gimp, $D, $DREAM, $PY,
# $WORK, $HERE; dl2-clip.scm is already in the profile). The judge is
# tests/gimp/common/clip_check.py: the returned numbers against
# `dream clip-score` / `dream describe` on the same pixels and model.
CLIPCHK="$HERE/../common/clip_check.py"
if "$PY" "$CLIPCHK" make "$D"; then
  CM="$D/clip-golden.safetensors"
  run_gimp "$WORK/clip.log" \
    "(dl-clip1 \"$D\" \"$CM\")" "(dl-clip2 \"$D\" \"$CM\")" "(dl-clip3 \"$D\" \"$CM\")" \
    "(dl-clip4 \"$D\" \"$CM\" \"$D/clip-bad.safetensors\")" "(dl-clip5 \"$D\" \"$CM\")"
  export DREAM_TEST_CANCEL_AT=0.3     # test hook (plugin/dream-clip-pixels.c)
  run_gimp "$WORK/clip-cancel.log" "(dl-clip6 \"$D\" \"$CM\")"
  unset DREAM_TEST_CANCEL_AT
  MODEL_SHAPES="$SRC/models/shapes-clip.safetensors"
  if [ -f "$MODEL_SHAPES" ]; then
    run_gimp "$WORK/clip-shapes.log" "(dl-clip7 \"$D\" \"$MODEL_SHAPES\")"
  fi
  MODEL_SHAPES="$MODEL_SHAPES" "$PY" "$CLIPCHK" judge "$D" "$DREAM" "$CM" "gimp2 " \
    "$WORK/clip.log" "$WORK/clip-cancel.log" "$WORK/clip-shapes.log" || part_failed=1
else
  echo "gimp2 FAIL clip: could not make the inputs"
  part_failed=1
fi

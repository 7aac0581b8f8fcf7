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

# ---- the two dialogs in a real window (Xvfb) --------------------------------
if command -v xvfb-run >/dev/null && command -v xdotool >/dev/null && [ -f "$D/clip-golden.safetensors" ]; then
  timeout 300 xvfb-run -a -s "-screen 0 1280x900x24" \
    "$PY" "$HERE/dl2clipgui.py" "$D" "$D/clip-golden.safetensors" "$WORK" >"$WORK/clip-gui.log" 2>&1
  rm -rf "$GIMP2_DIRECTORY/backups/"* 2>/dev/null
  "$PY" - "$WORK/clip-gui.log" <<'PY' || part_failed=1
import sys
f = {}
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    p = line.rstrip("\n").split("|", 3)
    if len(p) == 4 and p[0] == "DL":
        f[p[2]] = p[3]
pr = []
if f.get("score-dialog") != "shown" or f.get("score-status") != "ok":
    pr.append("Score Captions dialog: %s, %s" % (f.get("score-dialog"), f.get("score-status")))
elif f.get("ranking", "").strip() != f.get("batch-ranking", "?").strip():
    pr.append("dialog ranking %r != batch %r" % (f.get("ranking"), f.get("batch-ranking")))
if f.get("describe-dialog") != "shown" or f.get("caption") != f.get("batch-caption"):
    pr.append("Describe dialog: %s, caption %r (batch %r)"
              % (f.get("describe-dialog"), f.get("caption"), f.get("batch-caption")))
if f.get("score-layers") != "1" or f.get("describe-layers") != "1" or \
        f.get("score-dirty") != "0" or f.get("describe-dirty") != "0":
    pr.append("image changed: %r" % {k: f.get(k) for k in ("score-layers", "describe-layers", "score-dirty", "describe-dirty")})
print(("gimp2 FAIL clip dialogs: " + "; ".join(pr)) if pr else
      "gimp2 PASS clip dialogs: Score (last captions, Alt+S) and Describe dialogs return what batch runs return; image unchanged")
sys.exit(1 if pr else 0)
PY
else
  echo "gimp2 SKIP clip dialogs: needs xvfb-run and xdotool"
fi

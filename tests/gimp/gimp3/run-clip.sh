# run-clip.sh — GIMP 3 cases of plug-in-dream-clip-score and
# plug-in-dream-describe (sourced by run.sh; GIMP side: cases_clip.py).
# Scores and captions are judged by tests/gimp/common/clip_check.py against
# `dream clip-score` / `dream describe` on the layer's pixels as GIMP
# exported them, with the golden tiny CLIP (tests/data); the semantic case
# uses models/shapes-clip.safetensors and is left out when it is absent.
CLIP_DIR="$OUT/clip-data"
mkdir -p "$CLIP_DIR"
gzip -dc "$SRC/tests/data/clip_golden_model.safetensors.gz" >"$CLIP_DIR/clip-golden.safetensors"
CLIP_GOLDEN="$CLIP_DIR/clip-golden.safetensors"
/usr/bin/python3 - "$CLIP_DIR" <<'PY' || say "note: making the red circle failed"
import sys
from PIL import Image, ImageDraw
c = Image.new("RGB", (64, 64), (40, 80, 230))
ImageDraw.Draw(c).ellipse((20, 20, 44, 44), fill=(220, 30, 30))
c.save(sys.argv[1] + "/red-circle.png")
PY
CLIPCHK="/usr/bin/python3 $SRC/tests/gimp/common/clip_check.py"

clipchk() { # clipchk score|describe [--crop X Y W H]: against the CLI
  local kind=$1 line rc; shift
  line=$(cd "$CASE_OUT" && $CLIPCHK "$kind" facts.json src-before.png "$DREAM_CLI" "$CLIP_GOLDEN" "$@" 2>&1)
  rc=$?
  printf '    %s\n' "$line"
  [ $rc -eq 0 ] || CASE_FAILS+=("$kind")
}

clip_unchanged() {
  facts 'len(new) == 0 and [l["id"] for l in after] == [l["id"] for l in before]' \
    --message "no layer added, layer list unchanged"
  facts 'not dirty' --message "image not dirty: no undo step pushed"
  facts 'all(l["parasite"] is None for l in after)' --message "no parasite attached"
  chk same src-before.png src-after.png
}

case_clip_score() {
  run_case clip-score DREAM_CLIP_MODEL="$CLIP_GOLDEN" || return
  facts 'status == "SUCCESS"' --message "procedure succeeded"
  clipchk score
  clip_unchanged
}

case_clip_score_selection() {
  run_case clip-score-selection DREAM_CLIP_MODEL="$CLIP_GOLDEN" || return
  facts 'status == "SUCCESS"' --message "procedure succeeded"
  clipchk score --crop 30 20 70 50
  clip_unchanged
}

case_clip_score_gray() {
  run_case clip-score-gray DREAM_CLIP_MODEL="$CLIP_GOLDEN" || return
  facts 'status == "SUCCESS"' --message "procedure succeeded"
  clipchk score
  clip_unchanged
}

case_clip_errors() {
  run_case clip-errors DREAM_CLIP_MODEL="$CLIP_GOLDEN" || return
  facts 'errors["indexed"][0] != "SUCCESS" and "indexed" in (errors["indexed"][1] or "")' \
    --message "indexed image: error naming it"
  facts 'errors["missing-model"][0] != "SUCCESS" and "nonexistent" in (errors["missing-model"][1] or "")' \
    --message "missing model: error naming the file"
  facts 'errors["bad-model"][0] != "SUCCESS" and "clip-bad" in (errors["bad-model"][1] or "")' \
    --message "corrupt model: error naming the file"
  facts 'errors["no-captions"][0] != "SUCCESS" and "caption" in (errors["no-captions"][1] or "")' \
    --message "no captions: error"
  facts 'errors["describe-bad-model"][0] != "SUCCESS" and "clip-bad" in (errors["describe-bad-model"][1] or "")' \
    --message "describe, corrupt model: error naming the file"
  facts 'errors["describe-bad-vocabulary"][0] != "SUCCESS" and "vocabulary" in (errors["describe-bad-vocabulary"][1] or "")' \
    --message "describe, corrupt vocabulary: error"
  clip_unchanged
}

case_describe() {
  run_case describe DREAM_CLIP_MODEL="$CLIP_GOLDEN" || return
  facts 'status == "SUCCESS" and len(caption) > 0' --message "a caption came back"
  clipchk describe
  clip_unchanged
}

case_clip_cancel() {
  run_case clip-cancel DREAM_CLIP_MODEL="$CLIP_GOLDEN" DREAM_TEST_CANCEL_AT=0.3 || return
  facts 'describe_status[0] != "SUCCESS" and "cancelled" in (describe_status[1] or "")' \
    --message "describe cancelled at 30%: error"
  facts 'score_status[0] != "SUCCESS" and "cancelled" in (score_status[1] or "")' \
    --message "score cancelled: error"
  clip_unchanged
}

case_clip_semantic() {
  run_case clip-semantic DREAM_CLIP_DATA="$CLIP_DIR" \
    DREAM_SHAPES_CLIP="$SRC/models/shapes-clip.safetensors" || return
  # The bundled shapes-clip (undertrained, see models/README.md) gets the
  # colour right but scores circle, cross and triangle within 0.001 of
  # each other on this picture: the shape is not asserted until it can.
  facts '"red" in caption' --message "caption mentions red"
  facts 'len(probs) == 2 and probs[1] > probs[0]' --message "'a red circle' above 'a green star'"
  clip_unchanged
}

ALL_CASES+=(clip-score clip-score-selection clip-score-gray clip-errors describe clip-cancel)
if [ -f "$SRC/models/shapes-clip.safetensors" ]; then
  ALL_CASES+=(clip-semantic)
else
  say "note: clip-semantic left out (models/shapes-clip.safetensors not there yet)"
fi

case_clip_dialogs() {
  # Both dialogs in a GIMP window under Xvfb (clipgui.py; screenshots kept
  # as clip-dialogs/*-dialog.png), the golden CLIP being the only one
  # installed (the default model): Score works, and each returns what its
  # batch run returned.
  CASE_OUT="$OUT/clip-dialogs"; CASE_FAILS=()
  mkdir -p "$CASE_OUT"
  if ! command -v xvfb-run >/dev/null || ! command -v xdotool >/dev/null; then
    say "    xvfb-run/xdotool missing"; CASE_FAILS+=("no-x"); return
  fi
  rm -rf "$PROFILE-gui"; cp -a "$PROFILE" "$PROFILE-gui"
  GIMP3_DIRECTORY="$PROFILE-gui" DREAM_GUI_LOGDIR="$CASE_OUT" \
    timeout "$GIMP_TIMEOUT" xvfb-run -a -s "-screen 0 1280x900x24" \
    /usr/bin/python3 "$SRC/tests/gimp/gimp3/clipgui.py" \
    "$DATA/kodim23-crop.png" "$CLIP_GOLDEN" "$CASE_OUT" >"$CASE_OUT/gimp.log" 2>&1
  facts '"exception" not in facts and score_dialog and describe_dialog' --message "both dialogs appeared"
  facts 'score_interactive == score_batch and "a painting" in score_batch' \
    --message "Score in the dialog returns the batch run's ranking and arrays"
  facts 'describe_interactive == describe_batch and len(describe_batch) > 4' \
    --message "Describe's dialog returns the batch run's caption"
  facts 'layers_after == layers_before and dirty in ("0", "#f", "FALSE")' \
    --message "image unchanged (no layer, not dirty)"
}
ALL_CASES+=(clip-dialogs)

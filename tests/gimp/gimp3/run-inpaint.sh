# run-inpaint.sh — GIMP 3 tests of plug-in-dream-inpaint and
# plug-in-dream-outpaint; sourced by run.sh (uses run_case, facts, chk,
# $DREAM_CLI, $OUT, $DATA). The GIMP side is cases_inpaint.py.
#
# The pixels are judged against the CLI on the same input and the mask
# GIMP made: the new layer's own pixels equal `dream inpaint --mask`
# (or `dream outpaint`) where the selection is full (within 1/255), the
# image's composite equals the original where it is empty, and lies
# between the original and the fill in the feather.
ALL_CASES+=(inpaint-rect inpaint-feather inpaint-none inpaint-all inpaint-off-layer
            inpaint-indexed inpaint-generate inpaint-generate-nomodel outpaint-generate
            inpaint-cancel
            outpaint outpaint-nothing outpaint-cancel
            outpaint-aspect outpaint-size outpaint-smaller outpaint-bad-aspect
            inpaint-gui)

PHOTO="$DATA/kodim23-crop.png"
SD_TINY="$OUT/sd_tiny.safetensors"    # tiny random SD 1.x checkpoint (tests/data)
gzip -dc "$SRC/tests/data/sd_tiny.safetensors.gz" >"$SD_TINY" || say "note: no sd_tiny"

inpaint_unchanged() { # the image as it was: layers, size, pixels, not dirty
  facts 'len(new) == 0 and [l["id"] for l in after] == [l["id"] for l in before]' \
    --message "no layer added, layer list unchanged"
  facts 'size_after == size_before and not dirty' --message "canvas size unchanged, image not dirty"
  chk same src-before.png src-after.png
}

inpaint_ok_checks() { # inpaint_ok_checks PARASITE CLI-ARGS...
  local parasite=$1; shift
  facts 'status == "SUCCESS" and len(new) == 1 and len(after) == len(before) + 1' \
    --message "one new layer"
  facts 'new[0]["name"] == "Inpainted (content-aware)" and result_is_new' \
    --message "named 'Inpainted (content-aware)', returned"
  facts "new[0][\"parasite\"] == \"$parasite\"" --message "settings parasite '$parasite'"
  facts 'has_mask and new[0]["alpha"]' --message "with a layer mask"
  facts 'new[0]["position"] == src["position"] - 1 and new[0]["parent"] == src["parent"]' \
    --message "directly above the source layer"
  facts '[new[0]["x"], new[0]["y"], new[0]["w"], new[0]["h"]] == sel_bounds' \
    --message "layer = the selection's bounds"
  chk same src-before.png src-after.png
  chk same src-before.png "$PHOTO"
  "$DREAM_CLI" inpaint --quiet --mask "$CASE_OUT/selection.png" "$@" "$PHOTO" "$CASE_OUT/cli.png" \
    >>"$CASE_OUT/cli.log" 2>&1 || say "    note: dream inpaint failed (see $CASE_OUT/cli.log)"
  local off
  off=$(/usr/bin/python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))["new"]; print(n[0]["x"], n[0]["y"]) if n else print(0, 0)' "$CASE_OUT/facts.json")
  # shellcheck disable=SC2086
  chk filled result0.png cli.png --mask selection.png --offset $off --tol 1 \
    --orig "$PHOTO" --min-change 3
  # shellcheck disable=SC2086
  chk compare mask0.png selection.png --offset $off --tol 0
  # shellcheck disable=SC2086
  chk composite comp.png "$PHOTO" cli.png result0.png --mask selection.png --layer-offset $off --tol 1
}

case_inpaint_rect() {
  run_case inpaint-rect || return
  inpaint_ok_checks "inpaint mode=content-aware sample=around context=64 seed=0" --context 64 --seed 0
}

case_inpaint_feather() {
  run_case inpaint-feather || return
  inpaint_ok_checks "inpaint mode=content-aware sample=whole context=0 seed=3" --context 0 --seed 3
}

case_inpaint_none() {
  run_case inpaint-none || return
  facts 'status == "EXECUTION_ERROR" and "needs a selection" in (error or "")' \
    --message "clear error: needs a selection"
  inpaint_unchanged
}

case_inpaint_all() {
  run_case inpaint-all || return
  facts 'status == "EXECUTION_ERROR" and "covers the whole layer" in (error or "")' \
    --message "clear error: the selection covers the whole layer"
  inpaint_unchanged
}

case_inpaint_off_layer() {
  run_case inpaint-off-layer || return
  facts 'status == "EXECUTION_ERROR" and "does not cover any part" in (error or "")' \
    --message "clear error: the selection does not cover the layer"
  inpaint_unchanged
}

case_inpaint_indexed() {
  run_case inpaint-indexed || return
  facts 'status == "EXECUTION_ERROR" and "convert it to RGB or Grayscale" in (error or "")' \
    --message "clear error: convert to RGB or Grayscale"
  inpaint_unchanged
}

case_inpaint_generate() {
  run_case inpaint-generate DREAM_SD_TINY="$SD_TINY" || return
  facts 'status == "SUCCESS" and len(new) == 1 and result_is_new and has_mask' \
    --message "one new layer with a layer mask"
  facts 'new[0]["name"] == "Inpainted “a red bird” seed 7"' --message "named 'Inpainted “a red bird” seed 7'"
  facts "new[0][\"parasite\"] == 'inpaint mode=generate seed=7 steps=4 cfg=7.5 strength=1 model=$SD_TINY prompt=\"a red bird\" negative=\"blurry\"'" \
    --message "settings parasite with prompt, seed and model"
  facts '[new[0]["x"], new[0]["y"], new[0]["w"], new[0]["h"]] == sel_bounds' \
    --message "layer = the selection's bounds"
  facts 'len(again) == 1' --message "the same run again: one more layer"
  chk same src-before.png src-after.png
  chk same src-before.png "$PHOTO"
  # same seed: the same picture (1/255: SD at 2 threads was seen 1 level off in 1 pixel)
  chk compare result0.png result-again.png --tol 1
  chk composite comp.png "$PHOTO" - result0.png --mask selection.png --layer-offset 100 60 --tol 1
  chk filled result0.png comp.png --mask selection.png --offset 100 60 --orig "$PHOTO" --min-change 3
}

case_inpaint_generate_nomodel() {
  run_case inpaint-generate-nomodel || return
  facts 'status == "EXECUTION_ERROR" and "Model \"no-such-model\" not found" in (error or "")' \
    --message "generate with a model that is not installed: clear error naming it"
  inpaint_unchanged
}

case_outpaint_generate() {
  run_case outpaint-generate DREAM_SD_TINY="$SD_TINY" || return
  facts 'status == "SUCCESS" and len(new) == 1 and has_mask' --message "one new layer with a layer mask"
  facts 'size_after == [304, 192] and (new[0]["w"], new[0]["h"]) == (304, 192)' \
    --message "canvas and layer 256x192 -> 304x192"
  facts 'new[0]["name"] == "Extended “a red bird” seed 7"' --message "named 'Extended “a red bird” seed 7'"
  chk same src-before.png src-after.png
  chk composite comp.png "$PHOTO" - result0.png --mask mask0.png --tol 1
}

case_inpaint_cancel() {
  run_case inpaint-cancel DREAM_TEST_CANCEL_AT=0.3 || return
  facts 'status in ("CANCEL", "EXECUTION_ERROR")' --message "procedure returned cancel"
  inpaint_unchanged
}

case_outpaint() {
  run_case outpaint || return
  facts 'status == "SUCCESS" and len(new) == 1 and len(after) == len(before) + 1' \
    --message "one new layer"
  facts 'size_before == [256, 192] and size_after == [288, 224]' --message "canvas 256x192 -> 288x224"
  facts 'new[0]["name"] == "Extended (content-aware)" and result_is_new and has_mask' \
    --message "named 'Extended (content-aware)', with a layer mask, returned"
  facts '(new[0]["x"], new[0]["y"], new[0]["w"], new[0]["h"]) == (0, 0, 288, 224)' \
    --message "new layer 288x224 at 0,0"
  facts '(src["x"], src["y"], src["w"], src["h"]) == (32, 32, 256, 192)' \
    --message "original layer kept its size, moved to 32,32"
  facts 'new[0]["position"] == src["position"] - 1' --message "directly above the source layer"
  facts 'new[0]["parasite"] == "outpaint left=32 right=0 top=32 bottom=0 feather=16 mode=content-aware sample=whole context=0 seed=0"' \
    --message "settings parasite"
  chk same src-before.png src-after.png
  "$DREAM_CLI" outpaint --quiet --left 32 --top 32 --feather 16 --context 0 --seed 0 \
    "$PHOTO" "$CASE_OUT/cli.png" >>"$CASE_OUT/cli.log" 2>&1 \
    || say "    note: dream outpaint failed (see $CASE_OUT/cli.log)"
  chk filled result0.png cli.png --mask mask0.png --tol 1
  chk composite comp.png "$PHOTO" cli.png result0.png --mask mask0.png --orig-offset 32 32 --tol 1
}

# outpaint_to_checks W H X Y PARASITE-TARGET CLI-ARGS...: a run to a target
# size or ratio made a W x H canvas with the picture (unchanged) at X,Y,
# the margins in the parasite, the pixels as `dream outpaint CLI-ARGS`.
outpaint_to_checks() {
  local W=$1 H=$2 X=$3 Y=$4 target=$5; shift 5
  local l=$X r=$((W - 256 - X)) t=$Y b=$((H - 192 - Y))
  facts 'status == "SUCCESS" and len(new) == 1 and len(after) == len(before) + 1' \
    --message "one new layer"
  facts "size_before == [256, 192] and size_after == [$W, $H]" --message "canvas 256x192 -> ${W}x$H"
  facts "(new[0][\"x\"], new[0][\"y\"], new[0][\"w\"], new[0][\"h\"]) == (0, 0, $W, $H) and has_mask" \
    --message "new layer ${W}x$H at 0,0 with a layer mask"
  facts "(src[\"x\"], src[\"y\"], src[\"w\"], src[\"h\"]) == ($X, $Y, 256, 192)" \
    --message "original layer kept its size, at $X,$Y"
  facts "new[0][\"parasite\"] == \"outpaint left=$l right=$r top=$t bottom=$b feather=16$target mode=content-aware sample=whole context=0 seed=0\"" \
    --message "settings parasite with the margins $l $r $t $b"
  chk same src-before.png src-after.png
  "$DREAM_CLI" outpaint --quiet "$@" --feather 16 --context 0 --seed 0 \
    "$PHOTO" "$CASE_OUT/cli.png" >>"$CASE_OUT/cli.log" 2>&1 \
    || say "    note: dream outpaint failed (see $CASE_OUT/cli.log)"
  chk filled result0.png cli.png --mask mask0.png --tol 1
  # where the mask is 0 the composite is the old picture, placed at X,Y
  chk composite comp.png "$PHOTO" cli.png result0.png --mask mask0.png --orig-offset "$X" "$Y" --tol 1
}

case_outpaint_aspect() {
  # 256x192 to 16:9: ceil(192*16/9) = 342 wide, picture at the left
  run_case outpaint-aspect || return
  outpaint_to_checks 342 192 0 0 " aspect=16:9 anchor=left" --aspect 16:9 --anchor left
}

case_outpaint_size() {
  run_case outpaint-size || return
  outpaint_to_checks 300 240 44 48 " to=300x240 anchor=bottom-right" \
    --width 300 --height 240 --anchor bottom-right
}

case_outpaint_smaller() {
  run_case outpaint-smaller || return
  facts 'status == "EXECUTION_ERROR" and "smaller than the canvas (256×192) in its width" in (error or "")' \
    --message "clear error: the target is smaller than the canvas"
  inpaint_unchanged
}

case_outpaint_bad_aspect() {
  run_case outpaint-bad-aspect || return
  facts 'status == "EXECUTION_ERROR" and "Bad aspect ratio \"16:0\"" in (error or "")' \
    --message "clear error: bad aspect ratio"
  inpaint_unchanged
}

case_outpaint_nothing() {
  run_case outpaint-nothing || return
  facts 'status == "EXECUTION_ERROR" and "Nothing to extend" in (error or "")' \
    --message "clear error: nothing to extend"
  inpaint_unchanged
}

case_outpaint_cancel() {
  run_case outpaint-cancel DREAM_TEST_CANCEL_AT=0.3 || return
  facts 'status in ("CANCEL", "EXECUTION_ERROR")' --message "procedure returned cancel"
  inpaint_unchanged
}

case_inpaint_gui() {
  # Both dialogs in a GIMP window under Xvfb (screenshots kept as
  # inpaint-gui/*-dialog.png), Enter runs each with a fresh profile's
  # defaults, and one Ctrl+Z undoes each run whole.
  CASE_OUT="$OUT/inpaint-gui"; CASE_FAILS=()
  mkdir -p "$CASE_OUT"
  if ! command -v xvfb-run >/dev/null || ! command -v xdotool >/dev/null; then
    say "    xvfb-run/xdotool missing"; CASE_FAILS+=("no-x"); return
  fi
  rm -rf "$PROFILE-gui"; cp -a "$PROFILE" "$PROFILE-gui"
  GIMP3_DIRECTORY="$PROFILE-gui" DREAM_GUI_LOGDIR="$CASE_OUT" \
    timeout "$GIMP_TIMEOUT" xvfb-run -a -s "-screen 0 1280x900x24" \
    /usr/bin/python3 "$SRC/tests/gimp/gimp3/gui_inpaint.py" "$PHOTO" "$CASE_OUT" \
    >"$CASE_OUT/gimp.log" 2>&1
  facts '"exception" not in facts and inpaint_dialog and outpaint_dialog' \
    --message "both dialogs appeared"
  facts 'inpaint_layers_after == layers_before + 1 and inpaint_top_name == "Inpainted (content-aware)"' \
    --message "Fill in the Inpaint Selection dialog added the layer"
  facts 'inpaint_layers_after_undo == layers_before' --message "one Ctrl+Z removed it"
  facts 'outpaint_layers_after == layers_before + 1 and outpaint_size_after == "(512 192)"' \
    --message "Extend in the Extend Canvas dialog (default: 256 px on the right) grew the canvas and added the layer"
  facts 'outpaint_layers_after_undo == layers_before and outpaint_size_after_undo == size_before' \
    --message "one Ctrl+Z undid the layer and the canvas size"
}

# run-generate.sh — GIMP 3 tests of plug-in-dream-txt2img and
# plug-in-dream-img2img (Text to Image, Reimagine Layer, Rank by CLIP).
# Sourced by run.sh: defines case_gen_* (GIMP side: cases_generate.py) and
# adds them to ALL_CASES. Pixels are checked against the `dream` CLI run
# with the settings read back from each layer's parasite, the CLIP order
# against `dream clip-score` (tests/gimp/common/gen_check.py).
ALL_CASES+=(gen-txt2img gen-same-seed gen-img2img gen-img2img-selection gen-cancel
            gen-bad-model gen-missing-model gen-indexed gen-rank)

GEN_MODELS="$OUT/gen-models"
mkdir -p "$GEN_MODELS"
export DREAM_GEN_SD="$GEN_MODELS/sd_tiny.safetensors"
export DREAM_GEN_CLIP="$GEN_MODELS/clip_tiny.safetensors"
gunzip -c "$SRC/tests/data/sd_tiny.safetensors.gz" >"$DREAM_GEN_SD" \
  && gunzip -c "$SRC/tests/data/clip_golden_model.safetensors.gz" >"$DREAM_GEN_CLIP" \
  || say "note: tests/data/sd_tiny.safetensors.gz or clip_golden_model.safetensors.gz missing"
GEN_CHECK="/usr/bin/python3 $SRC/tests/gimp/common/gen_check.py"

gchk() { # gchk GEN_CHECK-ARGS... : one verdict of the current case
  local line rc
  line=$(cd "$CASE_OUT" && $GEN_CHECK "$@" 2>&1); rc=$?
  printf '    %s\n' "$line"
  [ $rc -eq 0 ] || CASE_FAILS+=("$1")
}

gen_parasite() { # gen_parasite INDEX : the settings text of new layer INDEX
  /usr/bin/python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))["new"]; i=int(sys.argv[2]); print(n[i]["parasite"] if len(n) > i and n[i]["parasite"] else "none")' \
    "$CASE_OUT/facts.json" "$1"
}

gen_unchanged() {
  facts 'len(new) == 0 and [l["id"] for l in after] == [l["id"] for l in before]' \
    --message "no layer added"
  facts 'not dirty' --message "image not dirty (nothing pushed on the undo stack)"
  chk same src-before.png src-after.png
}

case_gen_txt2img() {
  run_case gen-txt2img || return
  facts 'status == "SUCCESS" and len(new) == 2' --message "two new layers"
  facts '[l["name"] for l in new] == ["“a red circle” seed 1234", "“a red circle” seed 1235"]' \
    --message "named with prompt and seed, first seed on top"
  facts '[l["position"] for l in new] == [0, 1] and all(l["parent"] is None for l in new)' \
    --message "on top of the layer stack"
  facts 'all((l["x"], l["y"], l["w"], l["h"], l["alpha"]) == (0, 0, 64, 48, False) for l in new)' \
    --message "64x48 (the image size) at 0,0"
  facts 'run0_layers == [l["id"] for l in new] and run0_seed == 1234' \
    --message "returns the new layers and the first seed"
  gchk parasite facts.json 0 kind=txt2img "prompt=a red circle" negative=blurry \
    "model=$DREAM_GEN_SD" seed=1234 steps=4 cfg=7.5 sampler=euler width=64 height=48
  gchk parasite facts.json 1 kind=txt2img seed=1235
  gchk reproduce "$DREAM_CLI" result0.png "$(gen_parasite 0)"
  gchk reproduce "$DREAM_CLI" result1.png "$(gen_parasite 1)"
  chk same src-before.png src-after.png
}

case_gen_same_seed() {
  run_case gen-same-seed || return
  facts 'statuses == ["SUCCESS", "SUCCESS"] and len(new) == 2' --message "two runs, two layers"
  facts 'all((l["w"], l["h"]) == (40, 24) for l in new)' --message "37x21 rounded to 40x24"
  chk same result0.png result1.png
  facts 're.search(r"steps=[1-9]\d* cfg=[0-9.]+ sampler=[a-z]", new[0]["parasite"]) is not None' \
    --message "the model defaults used are written out"
  gchk reproduce "$DREAM_CLI" result0.png "$(gen_parasite 0)"
}

case_gen_img2img() {
  run_case gen-img2img || return
  facts 'status == "SUCCESS" and len(new) == 1' --message "one new layer"
  facts 'new[0]["position"] == src["position"] - 1 and new[0]["parent"] == src["parent"]' \
    --message "directly above the source layer"
  facts '(new[0]["x"], new[0]["y"], new[0]["w"], new[0]["h"]) == (0, 0, 64, 48)' \
    --message "same place and size as the source"
  facts 'new[0]["name"] == "Reimagined “a blue square” seed 5"' --message "named"
  facts 'new[0]["parasite"].startswith("img2img ") and " strength=0.6 " in new[0]["parasite"]' \
    --message "img2img parasite with strength"
  gchk reproduce "$DREAM_CLI" result0.png "$(gen_parasite 0)" "$UPDATA/up-in.png"
  chk same src-before.png src-after.png
}

case_gen_img2img_selection() {
  run_case gen-img2img-selection || return
  facts 'status == "SUCCESS" and len(new) == 1' --message "one new layer"
  facts '(new[0]["x"], new[0]["y"], new[0]["w"], new[0]["h"]) == (18, 10, 30, 20)' \
    --message "layer = selection bounds 30x20 at 18,10 (source moved to 8,4)"
  facts 'new[0]["position"] == src["position"] - 1' --message "directly above the source"
}

case_gen_cancel() {
  run_case gen-cancel DREAM_TEST_CANCEL_AT=0.3 || return
  facts 'status in ("CANCEL", "EXECUTION_ERROR")' --message "procedure returned cancel"
  gen_unchanged
}

case_gen_bad_model() {
  run_case gen-bad-model || return
  facts 'status == "EXECUTION_ERROR" and "corrupt.safetensors" in (error or "")' \
    --message "error names the bad model file"
  gen_unchanged
}

case_gen_missing_model() {
  run_case gen-missing-model || return
  facts 'status == "EXECUTION_ERROR" and "no-such-model" in (error or "")' \
    --message "error names the missing model"
  gen_unchanged
}

case_gen_indexed() {
  run_case gen-indexed || return
  facts 'status == "EXECUTION_ERROR" and "indexed" in (error or "")' \
    --message "clear error for an indexed image"
  gen_unchanged
}

case_gen_rank() {
  run_case gen-rank || return
  facts 'status == "SUCCESS" and len(new) == 3' --message "three new layers"
  # (no names of the facts inside comprehensions: eval's scoping)
  facts 'run0_seed == 70 and run0_layers == [l["id"] for l in new]' \
    --message "returns the first seed and the layers in stack order"
  facts 'len(re.findall(r"(?:^|\|)“a red circle” seed (7[012]) — CLIP -?\d\.\d\d(?=\||$)", "|".join([l["name"] for l in new]))) == 3 and "seed 70 " in "|".join([l["name"] for l in new]) and "seed 71 " in "|".join([l["name"] for l in new]) and "seed 72 " in "|".join([l["name"] for l in new])' \
    --message "seeds 70-72, each name ending with its CLIP score"
  gchk parasite facts.json 0 "clip-model=$DREAM_GEN_CLIP"
  gchk clip-order "$DREAM_CLI" "$DREAM_GEN_CLIP" "a red circle" facts.json
  gchk reproduce "$DREAM_CLI" result0.png "$(gen_parasite 0)"
}

case_gen_dialog() {
  # Interactive runs in a GIMP window under Xvfb (gen_gui.py): the dialogs
  # appear (screenshots kept in gen-dialog/), Generate adds a layer with
  # the last-used settings, Escape in Reimagine Layer adds nothing.
  CASE_OUT="$OUT/gen-dialog"; CASE_FAILS=()
  mkdir -p "$CASE_OUT"
  if ! command -v xvfb-run >/dev/null || ! command -v xdotool >/dev/null; then
    say "    xvfb-run/xdotool missing"; CASE_FAILS+=("no-x"); return
  fi
  rm -rf "$PROFILE-gui"; cp -a "$PROFILE" "$PROFILE-gui"
  # the dialog opens on the built-in model: here the tiny one plays shapes-sd
  mkdir -p "$GEN_MODELS/as-bundled"
  cp "$DREAM_GEN_SD" "$GEN_MODELS/as-bundled/shapes-sd.safetensors"
  DREAM_MODELS_DIR="$GEN_MODELS/as-bundled" \
  GIMP3_DIRECTORY="$PROFILE-gui" DREAM_GUI_LOGDIR="$CASE_OUT" \
    timeout "$GIMP_TIMEOUT" xvfb-run -a -s "-screen 0 1280x900x24" \
    /usr/bin/python3 "$SRC/tests/gimp/gimp3/gen_gui.py" \
    "$UPDATA/up-in.png" "$DREAM_GEN_SD" "$CASE_OUT" >"$CASE_OUT/gimp.log" 2>&1
  facts '"exception" not in facts and txt2img_dialog and img2img_dialog' --message "both dialogs appeared"
  facts 'layers_batch == layers_start + 1 and layers_dialog == layers_batch + 1' \
    --message "Generate in the dialog added one layer"
  facts 're.fullmatch(r"\(no prompt\) seed \d+", top_name) is not None' \
    --message "named with the dialog's (empty) prompt and a random seed"
  facts 'layers_after_escape == layers_dialog' --message "Escape in Reimagine Layer added nothing"
}
ALL_CASES+=(gen-dialog)

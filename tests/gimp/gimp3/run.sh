#!/bin/bash
# run.sh — end-to-end tests of the GIMP 3 front end (plug-in-dream-denoise,
# and plug-in-dream-upscale: the upscale-* cases).
#
# Runs inside the GIMP 3 test root:
#     tools/gimp3-root.sh ensure
#     tools/gimp3-root.sh run tests/gimp/gimp3/run.sh [CASE...]
#
# Builds the project with meson (-Dgimp=3) into build-gimp3/, installs the
# plug-in into a throw-away GIMP profile (build-gimp3/gimp3-profile), and
# for each case starts gimp-console-3.0 headless (python-fu batch,
# tests/gimp/gimp3/cases.py) and then judges what it exported with
# tests/gimp/common/check.py. Prints PASS/FAIL per case and ends with
# "N passed, M failed"; exits non-zero on any failure.
#
# Environment: DREAM_BUILD_DIR (default build-gimp3), DREAM_NO_BUILD=1 to
# reuse a build, DREAM_KEEP=1 to keep the GIMP logs of passing cases too.
set -uo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$SRC"
BUILD=${DREAM_BUILD_DIR:-build-gimp3}
case "$BUILD" in /*) ;; *) BUILD="$SRC/$BUILD" ;; esac
DATA="$SRC/tests/data/gimp"
CHECK="/usr/bin/python3 $SRC/tests/gimp/common/check.py"
OUT="$BUILD/gimp3-tests"
PROFILE="$BUILD/gimp3-profile"
ALL_CASES=(whole selection-rect selection-feather estimate gray rgba indexed
           corrupt-model cancel undo multi group dialog
           upscale upscale-fast upscale-rgba upscale-gray upscale-new-image upscale-indexed
           upscale-bad-model upscale-cancel)
GIMP_TIMEOUT=${DREAM_GIMP_TIMEOUT:-300}

command -v gimp-console-3.0 >/dev/null || {
  echo "gimp-console-3.0 not found: run this inside the GIMP 3 root:" >&2
  echo "  tools/gimp3-root.sh run tests/gimp/gimp3/run.sh" >&2
  exit 2
}

t_start=$(date +%s)
say() { printf '%s\n' "$*"; }

# ---- build -------------------------------------------------------------------
if [ "${DREAM_NO_BUILD:-0}" != 1 ]; then
  mkdir -p "$BUILD"
  if [ ! -f "$BUILD/build.ninja" ]; then
    meson setup "$BUILD" -Dgimp=3 --buildtype=release >"$BUILD/gimp3-setup.log" 2>&1 \
      || { cat "$BUILD/gimp3-setup.log"; say "FAIL build: meson setup"; say "0 passed, 1 failed"; exit 1; }
  fi
  if ! ninja -C "$BUILD" >"$BUILD/gimp3-ninja.log" 2>&1; then
    tail -n 40 "$BUILD/gimp3-ninja.log"
    say "FAIL build: ninja"; say "0 passed, 1 failed"; exit 1
  fi
fi
PLUGIN_BIN="$BUILD/plugin/gimp3/dreamlayer"
DREAM_CLI="$BUILD/cli/dream"
for f in "$PLUGIN_BIN" "$DREAM_CLI"; do
  [ -x "$f" ] || { say "FAIL build: $f missing"; say "0 passed, 1 failed"; exit 1; }
done
t_built=$(date +%s)

# ---- a throw-away GIMP profile with the plug-in in it -----------------------
export GIMP3_DIRECTORY="$PROFILE"
export DREAM_MODELS_DIR="$SRC/models"
export GEGL_USE_OPENCL=no
unset DISPLAY
rm -rf "$PROFILE" "$OUT"
mkdir -p "$OUT"

gimp_batch() { # gimp_batch LOG PYTHON-CODE
  timeout "$GIMP_TIMEOUT" gimp-console-3.0 -i --quit \
    --batch-interpreter python-fu-eval -b "$2" >"$1" 2>&1
}

# let GIMP create its profile, then add the plug-in (GIMP 3: own folder)
gimp_batch "$OUT/profile-init.log" 'pass' || true
mkdir -p "$PROFILE/plug-ins/dreamlayer"
install -m 755 "$PLUGIN_BIN" "$PROFILE/plug-ins/dreamlayer/dreamlayer"

# ---- reference outputs of the CLI (same engine, no GIMP) --------------------
cli() { "$DREAM_CLI" denoise "$@" >>"$OUT/cli.log" 2>&1; }
cli --sigma 25 --model color "$DATA/kodim23-noisy25.png" "$OUT/cli-color.png" \
  || say "note: CLI colour reference failed (see $OUT/cli.log)"
cli --sigma 25 --model gray "$DATA/kodim23-gray-noisy25.png" "$OUT/cli-gray.png" \
  || say "note: CLI grey reference failed (see $OUT/cli.log)"

# small upscaling inputs (64x48 crops, no colour chunks) and their CLI results
UPDATA="$OUT/updata"
mkdir -p "$UPDATA"
/usr/bin/python3 - "$DATA" "$UPDATA" <<'PY' || say "note: making the upscale inputs failed"
import sys
from PIL import Image
data, out = sys.argv[1], sys.argv[2]
Image.open(data + "/kodim23-crop.png").convert("RGB").crop((96, 64, 160, 112)).save(out + "/up-in.png")
Image.open(data + "/kodim23-noisy25-rgba.png").convert("RGBA").crop((96, 64, 160, 112)).save(out + "/up-rgba.png")
Image.open(data + "/kodim23-gray.png").convert("L").crop((96, 64, 160, 112)).save(out + "/up-gray.png")
Image.open(out + "/up-in.png").quantize(64).save(out + "/up-indexed.png")
PY
upcli() { "$DREAM_CLI" upscale --quiet "$@" >>"$OUT/cli.log" 2>&1 || say "note: CLI upscale reference failed: $*"; }
upcli --scale 2 --model photo "$UPDATA/up-in.png" "$OUT/cli-up2-photo.png"
upcli --scale 2 --model fast "$UPDATA/up-in.png" "$OUT/cli-up2-fast.png"
upcli --scale 2 --model photo "$UPDATA/up-rgba.png" "$OUT/cli-up2-rgba.png"
upcli --scale 2 --model photo "$UPDATA/up-gray.png" "$OUT/cli-up2-gray.png"
export DREAM_UPDATA="$UPDATA"

# ---- cases -------------------------------------------------------------------
passed=0; failed=0
CASE_OUT=""; CASE_FAILS=()

chk() { # chk CHECK-ARGS... : one verdict of the current case
  local line
  line=$(cd "$CASE_OUT" && $CHECK "$@" 2>&1)
  local rc=$?
  printf '    %s\n' "$line"
  [ $rc -eq 0 ] || CASE_FAILS+=("$1")
}

facts() { chk facts facts.json "$@"; }

run_case() { # run_case NAME [ENV=VAL...]
  local name=$1; shift
  CASE_OUT="$OUT/$name"; CASE_FAILS=()
  mkdir -p "$CASE_OUT"
  local t0 rc
  t0=$(date +%s.%N)
  env "$@" DREAM_CASE="$name" DREAM_DATA="$DATA" DREAM_OUT="$CASE_OUT" \
    DREAM_CASES_PY="$SRC/tests/gimp/gimp3/cases.py" \
    timeout "$GIMP_TIMEOUT" gimp-console-3.0 -i --quit \
      --batch-interpreter python-fu-eval \
      -b "exec(open('$SRC/tests/gimp/gimp3/cases.py').read())" \
      >"$CASE_OUT/gimp.log" 2>&1
  rc=$?
  printf '  %s: GIMP exit %d, %.1f s\n' "$name" "$rc" \
    "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')"
  if [ ! -f "$CASE_OUT/facts.json" ]; then
    say "    no facts.json; end of GIMP's log:"; tail -n 15 "$CASE_OUT/gimp.log" | sed 's/^/      /'
    CASE_FAILS+=("gimp")
    return 1
  fi
  [ $rc -eq 0 ] || CASE_FAILS+=("gimp-exit-$rc")
  facts '"exception" not in facts' --message "GIMP-side script ran without exception"
  return 0
}

verdict() {
  local name=$1
  if [ ${#CASE_FAILS[@]} -eq 0 ]; then
    say "PASS $name"; passed=$((passed + 1))
    [ "${DREAM_KEEP:-0}" = 1 ] || rm -f "$CASE_OUT"/gimp.log
  else
    say "FAIL $name (${CASE_FAILS[*]}); GIMP log: $CASE_OUT/gimp.log"
    # CI keeps only this output: the end of each log the case left
    for log in "$CASE_OUT"/gimp.log "$CASE_OUT"/gimp-gui.log; do
      [ -s "$log" ] || continue
      say "  --- last lines of $log"
      tail -n 25 "$log" | sed 's/^/  | /'
    done
    failed=$((failed + 1))
  fi
}

unchanged_checks() { # no layer added, the layer's pixels as before
  facts 'len(new) == 0 and [l["id"] for l in after] == [l["id"] for l in before]' \
    --message "no layer added, layer list unchanged"
  chk same src-before.png src-after.png
}

case_whole() {
  run_case whole || return
  facts 'status == "SUCCESS"' --message "procedure succeeded"
  facts 'len(new) == 1 and len(after) == len(before) + 1' --message "one new layer"
  facts 'new[0]["name"] == "Denoised σ=25"' --message "named 'Denoised σ=25'"
  facts 'new[0]["position"] == src["position"] - 1 and new[0]["parent"] == src["parent"]' \
    --message "directly above the source layer"
  facts '(new[0]["x"], new[0]["y"], new[0]["w"], new[0]["h"]) == (0, 0, 256, 192)' \
    --message "same size and place as the source"
  facts 'new[0]["parasite"] == "denoise sigma=25 model=color"' --message "settings parasite"
  chk same src-before.png src-after.png
  chk compare result0.png "$OUT/cli-color.png" --tol 1
  chk psnr result0.png "$DATA/kodim23-crop.png" "$DATA/kodim23-noisy25.png" --min-gain 8
}

case_selection_rect() {
  run_case selection-rect || return
  facts 'status == "SUCCESS" and len(new) == 1' --message "one new layer"
  facts '(new[0]["x"], new[0]["y"], new[0]["w"], new[0]["h"]) == (40, 30, 100, 80)' \
    --message "layer = selection bounds 100x80+40+30"
  chk alpha result0.png --src src-before.png --selection selection.png --offset 40 30
  chk psnr result0.png "$DATA/kodim23-crop.png" "$DATA/kodim23-noisy25.png" --offset 40 30 --min-gain 6
  chk same src-before.png src-after.png
}

case_selection_feather() {
  run_case selection-feather || return
  facts 'status == "SUCCESS" and len(new) == 1' --message "one new layer"
  facts '[new[0]["x"], new[0]["y"], new[0]["w"], new[0]["h"]] == sel_bounds and new[0]["x"] + new[0]["w"] <= 256' \
    --message "layer = feathered selection bounds, clipped to the layer"
  local off
  off=$(/usr/bin/python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))["new"]; print(n[0]["x"], n[0]["y"]) if n else print(0, 0)' "$CASE_OUT/facts.json")
  # shellcheck disable=SC2086
  chk alpha result0.png --src src-before.png --selection selection.png --offset $off
  # shellcheck disable=SC2086
  chk psnr result0.png "$DATA/kodim23-crop.png" "$DATA/kodim23-noisy25.png" --offset $off --min-gain 5
  chk same src-before.png src-after.png
}

case_estimate() {
  run_case estimate || return
  facts 'status == "SUCCESS" and len(new) == 1' --message "one new layer"
  facts 're.fullmatch(r"Denoised σ=\d+\.\d \(estimated\)", new[0]["name"]) is not None' \
    --message "named 'Denoised σ=NN.N (estimated)'"
  facts 'abs(float(re.search(r"σ=([0-9.]+)", new[0]["name"]).group(1)) - 25) <= 3' \
    --message "estimated sigma within 3 of 25"
  facts 're.fullmatch(r"denoise sigma=[0-9.]+ estimated=yes model=color", new[0]["parasite"]) is not None' \
    --message "settings parasite says estimated"
  chk psnr result0.png "$DATA/kodim23-crop.png" "$DATA/kodim23-noisy25.png" --min-gain 7
}

case_gray() {
  run_case gray || return
  facts 'status == "SUCCESS" and len(new) == 1' --message "one new layer"
  facts 'new[0]["gray"] and new[0]["name"] == "Denoised σ=25 (grey model)"' \
    --message "grey layer named 'Denoised σ=25 (grey model)'"
  facts 'new[0]["parasite"] == "denoise sigma=25 model=gray"' --message "settings parasite"
  chk compare result0.png "$OUT/cli-gray.png" --tol 1
  chk psnr result0.png "$DATA/kodim23-gray.png" "$DATA/kodim23-gray-noisy25.png" --min-gain 7
  chk same src-before.png src-after.png
}

case_rgba() {
  run_case rgba || return
  facts 'status == "SUCCESS" and len(new) == 1 and new[0]["alpha"]' --message "one new layer with alpha"
  chk alpha result0.png --src src-before.png
  chk compare result0.png "$OUT/cli-color.png" --tol 1
  chk same src-before.png src-after.png
}

case_indexed() {
  run_case indexed || return
  facts 'status == "EXECUTION_ERROR" and "convert it to RGB or Grayscale" in (error or "")' \
    --message "clear error: convert to RGB or Grayscale"
  unchanged_checks
}

case_corrupt_model() {
  run_case corrupt-model || return
  facts 'status == "EXECUTION_ERROR" and bool(error)' --message "error with a message"
  unchanged_checks
}

case_cancel() {
  run_case cancel DREAM_TEST_CANCEL_AT=0.3 || return
  facts 'status in ("CANCEL", "EXECUTION_ERROR")' --message "procedure returned cancel"
  unchanged_checks
}

case_undo() {
  # GIMP 3.0's PDB has no "undo", so batch mode checks only that the run
  # leaves undo usable; the real check presses Ctrl+Z in a GIMP window under
  # Xvfb (gui.py, through the Script-Fu server on the loopback interface).
  run_case undo || return
  facts 'status == "SUCCESS" and len(new) == 1' --message "one new layer"
  facts 'undo_enabled and group_balanced and dirty' \
    --message "batch: undo enabled, no undo group left open, image dirty"
  if command -v xvfb-run >/dev/null && command -v xdotool >/dev/null; then
    rm -rf "$PROFILE-gui"; cp -a "$PROFILE" "$PROFILE-gui"
    GIMP3_DIRECTORY="$PROFILE-gui" DREAM_GUI_LOGDIR="$CASE_OUT/gui" \
      timeout "$GIMP_TIMEOUT" xvfb-run -a -s "-screen 0 1280x900x24" \
      /usr/bin/python3 "$SRC/tests/gimp/gimp3/gui.py" undo \
      "$DATA/kodim23-noisy25.png" "$CASE_OUT/gui" >"$CASE_OUT/gui.log" 2>&1
    chk facts gui/facts.json 'layers_after_run == layers_before + 1 and layers_after_one_undo == layers_before' \
      --message "GUI: one Ctrl+Z removes the result layer"
    chk facts gui/facts.json 'layers_after_redo == layers_after_run' --message "GUI: Ctrl+Y brings it back"
  else
    say "    note: xvfb-run/xdotool missing: Undo itself not checked (batch checks only)"
  fi
}

case_multi() {
  run_case multi || return
  facts 'status == "SUCCESS" and len(new) == 2' --message "two new layers"
  # GIMP makes the second name unique ("Denoised σ=25 #1")
  facts '[re.sub(r" #\d+$", "", l["name"]) for l in after] == ["Denoised σ=25", "Copy", "Denoised σ=25", "Background"]' \
    --message "each result directly above its own source"
  facts '(after[0]["x"], after[0]["y"]) == (20, 10) and (after[2]["x"], after[2]["y"]) == (0, 0)' \
    --message "each result at its source's offsets"
}

case_group() {
  run_case group || return
  facts 'status == "EXECUTION_ERROR" and "group" in (error or "")' --message "clear error for a layer group"
  facts 'len(new) == 0' --message "no layer added"
}

# ---- plug-in-dream-upscale (64x48 inputs, x2) --------------------------------

upscale_ok_checks() { # upscale_ok_checks CLI-REFERENCE NAME
  facts 'status == "SUCCESS"' --message "procedure succeeded"
  facts '(image_before["w"], image_before["h"]) == (64, 48) and (image_after["w"], image_after["h"]) == (128, 96)' \
    --message "image 64x48 -> 128x96"
  facts 'len(new) == 1 and len(after) == len(before) + 1' --message "one new layer"
  facts "new[0][\"name\"] == \"$2\"" --message "named '$2'"
  facts '(new[0]["x"], new[0]["y"], new[0]["w"], new[0]["h"]) == (0, 0, 128, 96)' \
    --message "new layer 128x96 at 0,0"
  facts 'new[0]["position"] == src["position"] - 1 and new[0]["parent"] == src["parent"]' \
    --message "directly above the source layer"
  facts '(src["w"], src["h"]) == (128, 96)' --message "source layer scaled by GIMP to 128x96"
  facts 'result_is_source_image and result_layer["id"] == new[0]["id"]' \
    --message "returns the source image and the new layer"
  chk compare result0.png "$1" --tol 1
}

upscale_unchanged_checks() {
  facts '(image_after["w"], image_after["h"]) == (image_before["w"], image_before["h"])' \
    --message "image size unchanged"
  facts 'images_added == 0' --message "no new image"
  unchanged_checks
}

case_upscale() {
  run_case upscale || return
  upscale_ok_checks "$OUT/cli-up2-photo.png" "Upscaled ×2 (photo)"
  facts 'new[0]["parasite"] == "upscale scale=2 model=photo"' --message "settings parasite"
}

case_upscale_fast() {
  run_case upscale-fast || return
  upscale_ok_checks "$OUT/cli-up2-fast.png" "Upscaled ×2 (fast)"
}

case_upscale_rgba() {
  run_case upscale-rgba || return
  upscale_ok_checks "$OUT/cli-up2-rgba.png" "Upscaled ×2 (photo)"
  facts 'new[0]["alpha"]' --message "the new layer has alpha"
  chk alpha result0.png --src "$OUT/cli-up2-rgba.png"
}

case_upscale_gray() {
  run_case upscale-gray || return
  upscale_ok_checks "$OUT/cli-up2-gray.png" "Upscaled ×2 (photo)"
  facts 'new[0]["gray"] and not new[0]["alpha"]' --message "a grey layer without alpha"
}

case_upscale_new_image() {
  run_case upscale-new-image || return
  facts 'status == "SUCCESS"' --message "procedure succeeded"
  facts 'images_added == 1 and not result_is_source_image' --message "one new image"
  facts '(result_image["w"], result_image["h"], result_image["layers"]) == (128, 96, 1)' \
    --message "new image 128x96 with one layer"
  facts 'result_layer["name"] == "Upscaled ×2 (photo)" and result_layer["parasite"] == "upscale scale=2 model=photo"' \
    --message "named and tagged"
  facts '(image_after["w"], image_after["h"]) == (64, 48)' --message "source image size unchanged"
  unchanged_checks
  chk compare result-new.png "$OUT/cli-up2-photo.png" --tol 1
}

case_upscale_indexed() {
  run_case upscale-indexed || return
  facts 'status == "EXECUTION_ERROR" and "convert it to RGB or Grayscale" in (error or "")' \
    --message "clear error: convert to RGB or Grayscale"
  upscale_unchanged_checks
}

case_upscale_bad_model() {
  run_case upscale-bad-model || return
  facts 'status == "EXECUTION_ERROR" and "no-such-model" in (error or "")' \
    --message "error names the bad model"
  upscale_unchanged_checks
}

case_upscale_cancel() {
  run_case upscale-cancel DREAM_TEST_CANCEL_AT=0.3 || return
  facts 'status in ("CANCEL", "EXECUTION_ERROR")' --message "procedure returned cancel"
  upscale_unchanged_checks
}

case_dialog() {
  # Interactive run in a GIMP window under Xvfb: the dialog opens (its
  # screenshot is kept as dialog/dialog.png), Enter runs it with the
  # defaults of a fresh profile (estimate on, colour model).
  CASE_OUT="$OUT/dialog"; CASE_FAILS=()
  mkdir -p "$CASE_OUT"
  if ! command -v xvfb-run >/dev/null || ! command -v xdotool >/dev/null; then
    say "    xvfb-run/xdotool missing"; CASE_FAILS+=("no-x"); return
  fi
  rm -rf "$PROFILE-gui"; cp -a "$PROFILE" "$PROFILE-gui"
  GIMP3_DIRECTORY="$PROFILE-gui" DREAM_GUI_LOGDIR="$CASE_OUT" \
    timeout "$GIMP_TIMEOUT" xvfb-run -a -s "-screen 0 1280x900x24" \
    /usr/bin/python3 "$SRC/tests/gimp/gimp3/gui.py" dialog \
    "$DATA/kodim23-noisy25.png" "$CASE_OUT" >"$CASE_OUT/gimp.log" 2>&1
  facts 'dialog and "exception" not in facts' --message "the dialog appeared"
  facts 'layers_after == layers_before + 1' --message "Denoise in the dialog added one layer"
  facts 're.fullmatch(r"Denoised σ=\d+\.\d \(estimated\)", top_name) is not None' \
    --message "named with the dialog's settings (estimated)"
}

# Other procedure areas: run-<area>.sh beside this file defines its
# case_* functions (with run_case, facts, chk, ...) and appends its case
# names to ALL_CASES; cases_<area>.py holds their GIMP side.
for part in "$SRC"/tests/gimp/gimp3/run-*.sh; do
  [ -f "$part" ] || continue
  # shellcheck disable=SC1090
  . "$part"
done

cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=("${ALL_CASES[@]}")
for c in "${cases[@]}"; do
  fn="case_${c//-/_}"
  if ! declare -F "$fn" >/dev/null; then
    say "FAIL $c (unknown case)"; failed=$((failed + 1)); continue
  fi
  say "case $c"
  "$fn"
  verdict "$c"
done

t_end=$(date +%s)
say "GIMP 3 tests: build $((t_built - t_start)) s, cases $((t_end - t_built)) s"
say "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

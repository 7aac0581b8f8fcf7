#!/usr/bin/env bash
# setup.sh — from a fresh Debian machine to a working Dreamlayer:
# installs the dependencies, builds, installs the `dream` command, the GIMP
# plug-in (GIMP 3 where libgimp-3.0 is available, else GIMP 2.10) and the
# bundled models under /usr/local, then runs the main jobs on the bundled
# models and sample photo, writing images to out/: text to image with the
# bundled shapes-sd (and its CLIP describing the result), denoising a noisy
# photo, upscaling it ×2 and removing part of it with content-aware fill.
#
#   sudo tools/setup.sh            (PREFIX=/usr/local by default)
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${PREFIX:-/usr/local}
if [ "$(id -u)" != 0 ]; then
  echo "setup.sh: installing packages and the plug-in needs root: sudo $0" >&2
  exit 1
fi
tools/install-deps.sh
[ -f build-release/build.ninja ] || meson setup build-release --prefix "$PREFIX" -Dbuildtype=release >/dev/null
ninja -C build-release >/dev/null
meson install -C build-release --quiet
echo "setup.sh: installed $PREFIX/bin/dream, the GIMP plug-in and models in $PREFIX/share/dreamlayer/models"

# The main job: denoise the bundled photo, at the known sigma and estimated.
mkdir -p out
cp samples/kodim23-noisy25.png out/1-noisy.png
"$PREFIX/bin/dream" denoise --sigma 25 samples/kodim23-noisy25.png out/2-denoised-sigma25.png
"$PREFIX/bin/dream" denoise --estimate samples/kodim23-noisy25.png out/3-denoised-estimated.png
cp samples/kodim23.png out/4-clean.png
"$PREFIX/bin/dream" upscale --scale 2 --model photo samples/kodim23.png out/5-upscaled-x2-photo.png
for f in 1-noisy 2-denoised-sigma25 3-denoised-estimated; do
  psnr=$(compare -metric PSNR "out/$f.png" samples/kodim23.png null: 2>&1 || true)
  echo "out/$f.png: PSNR against the clean photo ${psnr} dB"
done

# Text to image with the bundled models (64×64 drawings of shapes: see
# models/README.md for what they can and cannot draw), shown ×4 as well.
for prompt in "a yellow star on a purple background" "a red circle above a blue square, night sky"; do
  f="out/6-$(echo "$prompt" | tr -c 'a-z0-9' '-' | sed 's/-\+/-/g; s/-$//').png"
  "$PREFIX/bin/dream" generate "$prompt" -m shapes-sd --seed 7 -o "$f"
  convert "$f" -filter point -resize 400% "${f%.png}-x4.png"
  echo "  CLIP describes it as: $("$PREFIX/bin/dream" describe --model shapes-clip "$f" | head -n 1)"
done

# Content-aware fill: a disc over the parrot's beak, rebuilt from the rest.
convert -size 500x500 xc:black -fill white -draw "circle 340,315 340,380" out/7-mask.png
"$PREFIX/bin/dream" inpaint --mask out/7-mask.png samples/kodim23.png out/8-inpainted.png
echo "setup.sh: done — look at the images in out/. In GIMP: Filters > Render > Dream > Text to Image...,"
echo "  Filters > Dream > Inpaint Selection... / Extend Canvas... / Score Captions... / Describe Layer...,"
echo "  Filters > Enhance > Dream Denoise... / Dream Upscale..."

#!/usr/bin/env bash
# setup.sh — from a fresh Debian machine to a working Dreamlayer:
# installs the dependencies, builds, installs the `dream` command, the GIMP
# plug-in (GIMP 3 where libgimp-3.0 is available, else GIMP 2.10) and the
# bundled models under /usr/local, then runs the main job on the bundled
# sample: denoising a noisy photo and upscaling it ×2, writing images to out/.
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
echo "setup.sh: done — look at the images in out/; in GIMP: Filters > Enhance > Dream Denoise... and Dream Upscale..."

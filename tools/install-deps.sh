#!/usr/bin/env bash
# install-deps.sh — the Debian packages Dreamlayer needs to build, test and
# benchmark (run as root). Debian 12 has GIMP 2.10; GIMP 3 is tested in a
# trixie root made by tools/gimp3-root.sh.
set -euo pipefail
packages=(
  # build
  gcc clang meson ninja-build pkg-config
  libglib2.0-dev libjson-glib-dev libopenblas-dev libpng-dev libjpeg-dev
  libyaml-dev
  # GIMP 2.10 plug-in and its headless tests
  gimp libgimp2.0-dev libgegl-dev
  # sanitizers and the fuzzer (clang's runtime)
  libclang-rt-14-dev
  # references, converters and benchmarks
  python3 python3-torch python3-h5py python3-numpy python3-pil
  # test tools
  imagemagick debootstrap zstd xvfb xauth x11-utils xdotool
)
if [ "$(id -u)" != 0 ]; then
  echo "install-deps.sh: run as root (sudo $0)" >&2
  exit 1
fi
# libclang-rt-14-dev only exists on Debian 12; elsewhere clang brings its own.
apt-cache show libclang-rt-14-dev >/dev/null 2>&1 || packages=("${packages[@]/libclang-rt-14-dev}")
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends ${packages[@]} >/dev/null
echo "install-deps.sh: dependencies installed"

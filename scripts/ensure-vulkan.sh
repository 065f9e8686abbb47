#!/usr/bin/env bash
# Make sure Dawn (npm `webgpu`) finds a WebGPU adapter on this machine.
# When no adapter is found and this is Debian 12 (bookworm), install Mesa's software Vulkan driver
# (lavapipe) from bookworm-backports: Debian 12's own Mesa 22.3 is too old for Dawn. The backports
# suite is added by copying the machine's existing Debian apt source (no registry host is written here).
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

if node scripts/probe-adapter.mjs >/dev/null 2>&1; then exit 0; fi

echo "[ensure-vulkan] Dawn found no usable WebGPU adapter; installing Mesa lavapipe from bookworm-backports" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
src=/etc/apt/sources.list.d/debian.sources
dst=/etc/apt/sources.list.d/debian-backports.sources
if [ ! -f "$dst" ]; then
  if [ ! -f "$src" ]; then echo "[ensure-vulkan] no $src to copy: add bookworm-backports by hand and install mesa-vulkan-drivers (>= 23)" >&2; exit 1; fi
  # Take the stanza whose Suites line names 'bookworm' and repeat it with the backports suite.
  awk 'BEGIN{RS=""; ORS="\n\n"} /Suites:[^\n]*bookworm( |$|\n)/ && !done {sub(/Suites:[^\n]*/, "Suites: bookworm-backports"); print; done=1}' "$src" | $SUDO tee "$dst" >/dev/null
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
node scripts/probe-adapter.mjs

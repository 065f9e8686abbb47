#!/usr/bin/env bash
# Make sure Debian's Chromium is at /usr/bin/chromium for the browser test (test/browser.test.ts drives it
# with playwright-core, which ships no browser of its own). Installs the Debian package `chromium` with
# apt-get when it is missing. Exit status 0: Chromium is there; non-zero: it is not, with the reason on stderr.
set -euo pipefail
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then exit 0; fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "[ensure-chromium] $CHROMIUM is missing and this system has no apt-get: install Chromium by hand and set CHROMIUM=/path/to/chromium" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"
  else
    echo "[ensure-chromium] $CHROMIUM is missing and installing it needs root (run: sudo apt-get install chromium)" >&2
    exit 1
  fi
fi
echo "[ensure-chromium] installing Debian's chromium package (apt-get)" >&2
if ! $SUDO apt-get update -qq >/dev/null 2>&1; then echo "[ensure-chromium] warning: apt-get update failed; trying the cached package lists" >&2; fi
if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
  echo "[ensure-chromium] apt-get install chromium failed: install it by hand (apt-get install chromium) or set CHROMIUM" >&2
  exit 1
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "[ensure-chromium] the chromium package installed but $CHROMIUM is not there" >&2
  exit 1
fi
echo "[ensure-chromium] $("$CHROMIUM" --version 2>/dev/null || echo chromium) installed" >&2

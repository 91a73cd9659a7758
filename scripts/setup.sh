#!/usr/bin/env bash
# One-time set-up on a fresh machine: .venv with torch==2.13.0 first, then act with its extras.
# Idempotent: re-running only installs what is missing. Set ACT_SKIP_APT=1 to skip system packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

# System packages for the recorder tests (virtual screen + real input events). Root + apt only.
if [ "${ACT_SKIP_APT:-0}" != 1 ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  need=""
  for cmd in Xvfb xdotool; do command -v "$cmd" >/dev/null 2>&1 || need=1; done
  if [ -n "$need" ]; then
    echo "[setup] installing xvfb, xdotool and X libraries (apt)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb xdotool tk8.6 libx11-6 libxrandr2 libxfixes3 libxcb1 libxcb-shm0 libxcb-randr0 libxcb-render0 libxcb-xfixes0 gcc linux-libc-dev >/dev/null
  fi
fi

# Chromium for the MiniWoB++ backend (tests marked miniwob skip without it). Root + apt only; skipped when present.
if [ "${ACT_SKIP_APT:-0}" != 1 ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] \
   && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; }; then
  echo "[setup] installing chromium and chromium-driver (apt)"
  { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } \
    || echo "[setup] could not install chromium: the miniwob tests will skip"
fi

if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  "$PY" -m venv .venv
fi
# torch first, pinned: this pin is a local CPU wheel here and the CUDA build on a CUDA machine.
if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
  echo "[setup] installing torch==2.13.0"
  .venv/bin/pip install -q --disable-pip-version-check "torch==2.13.0"
fi
echo "[setup] installing act[dev,record,miniwob]"
.venv/bin/pip install -q --disable-pip-version-check -e ".[dev,record,miniwob]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import act, torch, lightning; print(f'[setup] ready: act {act.__version__}, torch {torch.__version__}, lightning {lightning.__version__}')"

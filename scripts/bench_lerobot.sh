#!/usr/bin/env bash
# Head-to-head with LeRobot's ACT (issue 11) from a clean checkout: .venv (scripts/setup.sh) if missing, then
# scripts/bench_lerobot.py, which builds .bench/lerobot-venv itself. Arguments pass through (--help, --eval, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup.sh
exec .venv/bin/python scripts/bench_lerobot.py "$@"

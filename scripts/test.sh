#!/usr/bin/env bash
# The whole test suite, after set-up. Extra arguments go to pytest. "No tests ran" is a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
# Lint and format first: cheap, and a failure here says which file and line.
.venv/bin/ruff format --check act tests scripts || exit 1
.venv/bin/ruff check act tests scripts || exit 1
.venv/bin/python -m pytest -q "$@"
rc=$?
if [ "$rc" = 5 ]; then
  echo "scripts/test.sh: pytest collected no tests: the set-up or the test paths are broken" >&2
  exit 1
fi
exit "$rc"

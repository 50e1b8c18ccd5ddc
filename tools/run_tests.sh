#!/usr/bin/env bash
# Set up the environment if needed (tools/setup_env.sh, idempotent), then run the default test suite.
# Extra arguments go to pytest, e.g. `bash tools/run_tests.sh -m slow` for the slow end-to-end checks.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$REPO/tools/setup_env.sh"
cd "$REPO"
exec "${SWAHR_VENV:-$REPO/.venv}/bin/python" -m pytest "$@"

#!/usr/bin/env bash
# Set up the environment if needed (tools/setup_env.sh, idempotent), then run the default test suite.
# Extra arguments go to pytest, e.g. `bash tools/run_tests.sh -m slow` for the slow end-to-end checks.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# OpenMP threads sleep instead of spinning while they wait: on a CPU shared with other work, spinning made a
# training step 4-8x slower (docs/cpu_threads.md). A value you set yourself is kept.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
bash "$REPO/tools/setup_env.sh"
cd "$REPO"
exec "${SWAHR_VENV:-$REPO/.venv}/bin/python" -m pytest "$@"

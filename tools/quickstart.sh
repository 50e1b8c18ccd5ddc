#!/usr/bin/env bash
# Main job on the built-in default: set up (idempotent), generate the synthetic multi-person data set, train SWAHR on
# the CPU (<= 10 min on 2 cores), evaluate with CocoMetric and save validation images with drawn skeletons.
# Extra arguments go to tools/quickstart.py (e.g. --work-dir, --seed, --max-minutes).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# OpenMP threads sleep instead of spinning while they wait: on a CPU shared with other work, spinning made a
# training step 4-8x slower (docs/cpu_threads.md). A value you set yourself is kept.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
bash "$REPO/tools/setup_env.sh"
cd "$REPO"
exec "${SWAHR_VENV:-$REPO/.venv}/bin/python" tools/quickstart.py "$@"

#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment with the full OpenMMLab stack.
#
# Usage: bash tools/setup_env.sh            # idempotent; a second run only re-checks imports
#
# Environment knobs (all optional):
#   SWAHR_VENV            venv location                           (default: <repo>/.venv)
#   SWAHR_PYTHON          interpreter that creates the venv       (default: python3)
#   SWAHR_TORCH_SPEC      torch requirement                        (default: torch==2.13.0)
#   SWAHR_TORCHVISION_SPEC torchvision requirement                 (default: torchvision==0.28.0)
#   SWAHR_TORCH_INDEX_URL extra index for torch/torchvision, e.g. https://download.pytorch.org/whl/cu121
#   SWAHR_WHEEL_CACHE     where wheels built here are kept         (default: ~/.cache/swahr_mmpose/wheels)
#   PIP_FIND_LINKS        extra wheel folders (e.g. ../shared/wheels); honoured for every step
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${SWAHR_VENV:-$REPO/.venv}
PY_BOOT=${SWAHR_PYTHON:-python3}
TORCH_SPEC=${SWAHR_TORCH_SPEC:-torch==2.13.0}
TORCHVISION_SPEC=${SWAHR_TORCHVISION_SPEC:-torchvision==0.28.0}
WHEEL_CACHE=${SWAHR_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/swahr_mmpose/wheels}
MMCV_VERSION=2.1.0
XTCOCOTOOLS_VERSION=1.14.3
CHUMPY_VERSION=0.70
STAMP="$VENV/.swahr_setup_stamp"

log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# The stamp records the inputs of this script; when they are unchanged and the stack imports, we are done.
stamp_value() {
  cat "$REPO/tools/setup_env.sh" "$REPO/setup.py" "$REPO/requirements/"*.txt 2>/dev/null | sha256sum | cut -d' ' -f1
  echo "$TORCH_SPEC $TORCHVISION_SPEC ${SWAHR_TORCH_INDEX_URL:-}"
}

check_stack() {
  "$VENV/bin/python" - <<'PY'
import torch, torchvision  # noqa: F401  torchvision must really load (MMPose's visualizer imports it)
import mmcv.ops  # noqa: F401  compiled ops, not mmcv-lite
import mmpose.models, mmpose.apis, mmpose.visualization  # noqa: F401
import numpy as np, xtcocotools.mask as xm  # built against the installed NumPy, and its masks work under NumPy 2
assert xm.decode(xm.frPyObjects([[0.0, 0.0, 6.0, 0.0, 6.0, 6.0, 0.0, 6.0]], 8, 8)).sum() > 0
import swahr_mmpose  # noqa: F401
import onnx, onnxruntime  # noqa: F401  the deploy extra (ONNX export tests)
import os.path as osp
from mim.utils import get_installed_path
index = osp.join(get_installed_path('swahr_mmpose'), '.mim', 'model-index.yml')
assert osp.isfile(index), f'mim cannot find {index}'
PY
}

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(stamp_value)" ]] && check_stack 2>/dev/null; then
  log "environment at $VENV is up to date"
  exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating virtual environment at $VENV"
  "$PY_BOOT" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=(pip_quiet "$PY" -m pip)
# pip warns once per package about this machine's non-existent local index folders; keep the log readable.
pip_quiet() { "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2); }
mkdir -p "$WHEEL_CACHE"

# torch >= 2.x wheels need setuptools >= 77.0.3; MMEngine and openmim import pkg_resources, removed in 81.
log "installing build tools"
"${PIP[@]}" install -q "setuptools>=77.0.3,<81" wheel ninja

# --- PyTorch + torchvision -------------------------------------------------------------------------------------------
torch_extra=()
[[ -n "${SWAHR_TORCH_INDEX_URL:-}" ]] && torch_extra=(--extra-index-url "$SWAHR_TORCH_INDEX_URL")
torchvision_ok() { "$PY" -c "import torchvision, torchvision.ops" >/dev/null 2>&1; }

if ! torchvision_ok; then
  log "installing $TORCH_SPEC $TORCHVISION_SPEC"
  "${PIP[@]}" install -q "${torch_extra[@]}" "$TORCH_SPEC" "$TORCHVISION_SPEC"
fi
if ! torchvision_ok; then
  # A find-links folder configured on this machine may hold a CPU-only torch (e.g. 2.13.0+cpu) that satisfies the pin
  # first, and PyPI has no torchvision for it. Reinstall torch from the index alone, ignoring pip config/find-links for
  # this one step only, so torch and torchvision come from the same (CUDA, CPU-capable) build.
  log "torchvision does not load against $("$PY" -c 'import torch;print(torch.__version__)'); reinstalling torch from the package index"
  "${PIP[@]}" uninstall -q -y torch
  pip_quiet "$PY" -m pip install -q --isolated "${torch_extra[@]}" "$TORCH_SPEC" "$TORCHVISION_SPEC"
fi
torchvision_ok || { log "ERROR: torchvision still fails to import:"; "$PY" -c "import torchvision"; exit 1; }
TORCH_VER=$("$PY" -c "import torch;print(torch.__version__)")
log "torch $TORCH_VER, torchvision $("$PY" -c 'import torchvision;print(torchvision.__version__)')"

# --- packages that need to be compiled against this venv (cached per torch build) -------------------------------------
# mmcv's ops are a C++ extension against this exact torch; key the cache by the torch version.
TORCH_CACHE="$WHEEL_CACHE/torch-$TORCH_VER"
mkdir -p "$TORCH_CACHE"
find_links=(--find-links "$WHEEL_CACHE" --find-links "$TORCH_CACHE")

# NumPy first: xtcocotools and chumpy are compiled against whatever NumPy is installed.
"${PIP[@]}" install -q "numpy" "scipy" "Cython" "$TORCH_SPEC"

# Locally built wheels carry the plain linux_x86_64 tag; manylinux ones come from PyPI (xtcocotools' is NumPy-1 only).
local_wheel() {  # name version -> path of a locally built wheel in PIP_FIND_LINKS or the cache, if any
  local name=$1 version=$2 dir
  IFS=' ' read -r -a dirs <<<"${PIP_FIND_LINKS:-}"
  for dir in "$TORCH_CACHE" "$WHEEL_CACHE" "${dirs[@]}"; do
    [[ -d "$dir" ]] || continue
    for f in "$dir/$name-$version-"*; do
      [[ -f "$f" && "$f" == *.whl && "$f" != *manylinux* ]] && { echo "$f"; return 0; }
    done
  done
  return 1
}

build_wheel() {  # name version cache_dir [extra env]
  local name=$1 version=$2 dest=$3
  log "building $name $version from source (no wheel found; mmcv takes ~25 min on 2 cores)"
  "${PIP[@]}" wheel -q --no-deps --no-build-isolation --no-binary "$name" -w "$dest" "$name==$version"
}

if ! "$PY" -c "import mmcv.ops" >/dev/null 2>&1; then
  whl=$(local_wheel mmcv "$MMCV_VERSION") || { MMCV_WITH_OPS=1 build_wheel mmcv "$MMCV_VERSION" "$TORCH_CACHE"; whl=$(local_wheel mmcv "$MMCV_VERSION"); }
  log "installing $(basename "$whl")"
  "${PIP[@]}" install -q --no-deps --force-reinstall "$whl"
fi
# xtcocotools 1.14.3 (the latest release) uses NumPy 1's np.NPY_OWNDATA in its Cython mask code, so under NumPy 2
# xtcocotools.mask.decode/area/frPyObjects raise AttributeError (MMPose's BottomupGetHeatmapMask and any crowd mask
# break), even in a wheel built against NumPy 2. pycocotools renamed it to NPY_ARRAY_OWNDATA; we build the release's
# sdist with that one rename and cache the wheel (in its own folder: it has the release's file name).
xtcocotools_works() {
  "$PY" - >/dev/null 2>&1 <<'PY'
import xtcocotools.mask as xm
rle = xm.frPyObjects([[0.0, 0.0, 6.0, 0.0, 6.0, 6.0, 0.0, 6.0]], 8, 8)
assert xm.decode(rle).sum() > 0 and xm.area(rle)[0] > 0
PY
}
XTCOCOTOOLS_PATCHED="$WHEEL_CACHE/xtcocotools-numpy2"
if ! xtcocotools_works; then
  whl=$(ls "$XTCOCOTOOLS_PATCHED"/xtcocotools-"$XTCOCOTOOLS_VERSION"-*.whl 2>/dev/null | head -n1 || true)
  if [[ -z "$whl" ]]; then
    log "building xtcocotools $XTCOCOTOOLS_VERSION from its sdist with the NumPy 2 fix (~1 min)"
    src=$(mktemp -d)
    "${PIP[@]}" download -q --no-deps --no-binary :all: -d "$src" "xtcocotools==$XTCOCOTOOLS_VERSION"
    tar -xzf "$src"/xtcocotools-"$XTCOCOTOOLS_VERSION".tar.gz -C "$src"
    sed -i 's/np\.NPY_OWNDATA/np.NPY_ARRAY_OWNDATA/g' "$src/xtcocotools-$XTCOCOTOOLS_VERSION/xtcocotools/_mask.pyx"
    mkdir -p "$XTCOCOTOOLS_PATCHED"
    "${PIP[@]}" wheel -q --no-deps --no-build-isolation -w "$XTCOCOTOOLS_PATCHED" "$src/xtcocotools-$XTCOCOTOOLS_VERSION"
    rm -rf "$src"
    whl=$(ls "$XTCOCOTOOLS_PATCHED"/xtcocotools-"$XTCOCOTOOLS_VERSION"-*.whl | head -n1)
  fi
  log "installing $whl"
  "${PIP[@]}" install -q --no-deps --force-reinstall "$whl"
  xtcocotools_works || { log "ERROR: xtcocotools.mask still fails:"; "$PY" -c "import xtcocotools.mask as m; m.decode(m.frPyObjects([[0,0,6,0,6,6,0,6]], 8, 8))"; exit 1; }
fi
if ! "$PY" -c "import chumpy" >/dev/null 2>&1; then
  whl=$(local_wheel chumpy "$CHUMPY_VERSION") || { build_wheel chumpy "$CHUMPY_VERSION" "$WHEEL_CACHE"; whl=$(local_wheel chumpy "$CHUMPY_VERSION"); }
  log "installing $(basename "$whl")"
  "${PIP[@]}" install -q --no-deps "$whl"
fi

# --- the OpenMMLab stack, test tools and this package ------------------------------------------------------------------
log "installing mmengine / mmpose / mmdet / openmim, test tools and the deploy extra (onnx, onnxruntime)"
"${PIP[@]}" install -q "${find_links[@]}" -r "$REPO/requirements/runtime.txt" -r "$REPO/requirements/tests.txt" \
  -r "$REPO/requirements/deploy.txt" "$TORCH_SPEC" "$TORCHVISION_SPEC" "setuptools>=77.0.3,<81"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$REPO"  # setup.py links swahr_mmpose/.mim to the checkout
# mim (openmim 0.3.9) reads <distribution location>/swahr_mmpose/.mim, i.e. <site-packages>/swahr_mmpose, which an
# editable (PEP 660) install does not create: link it to the checkout's package so `mim search/train/test
# swahr_mmpose` work (imports are unchanged: both paths are the checkout's files). A wheel install copies instead.
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [[ -L "$SITE/swahr_mmpose" || ! -e "$SITE/swahr_mmpose" ]]; then
  ln -sfn "$REPO/swahr_mmpose" "$SITE/swahr_mmpose"
fi

log "checking imports"
check_stack
stamp_value >"$STAMP"
log "done: activate with 'source $VENV/bin/activate'"

#!/usr/bin/env bash
# Multi-GPU / multi-node training, MMPose's tools/dist_train.sh conventions, through this repo's tools/train.py:
#
#   bash tools/dist_train.sh CONFIG GPUS [tools/train.py options: --work-dir, --resume, --amp, --auto-scale-lr, ...]
#
# Environment: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500) as MMPose's; PYTHON picks the
# interpreter (default `python`). torch.distributed.run is the successor of MMPose's torch.distributed.launch (same
# flags; the local rank comes in the LOCAL_RANK variable, which MMPose's train.py reads).
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
"${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$(dirname "$0")/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"

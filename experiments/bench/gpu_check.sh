#!/usr/bin/env bash
# One prepared GPU session (the device goals in experiments/results/performance.md): the software seen,
# the training step in both formulations against the PyTorch reference, inference throughput, and
# the training CLI on the embedded synthetic default. Every step has its own time limit, so a slow
# one cannot take the others' time; each writes OUT/<step>.log.
#
#     OUT=/tmp/gpu bash experiments/bench/gpu_check.sh
#
# Wheels in ./.whl (pinned flax/optax/orbax, ml_collections, tensorflow-datasets, grain and their
# needs, for a machine that cannot reach a package index) are installed to /tmp/site first.
set -u
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD

step() {  # step NAME LIMIT_S COMMAND...: run with a limit, log to OUT/NAME.log, show its end
  local name=$1 limit=$2
  shift 2
  echo "=== $name ($(date +%T), limit ${limit}s): $*"
  local t0=$SECONDS
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  echo "--- rc $? after $((SECONDS - t0)) s"
  tail -n 14 "$OUT/$name.log"
}

step env 40 bash -c 'nvidia-smi -L; python3 -c "
import jax, flax, optax, orbax.checkpoint as oc, numpy, torch
print(\"jax\", jax.__version__, \"flax\", flax.__version__, \"optax\", optax.__version__, \"orbax\", oc.__version__, \"numpy\", numpy.__version__, \"torch\", torch.__version__)
print(jax.devices())"'
step train_step_per_frame "${LIMIT_STEP:-140}" python3 experiments/bench/train_step.py --preset official \
  --batch 8 --formulation per_frame --repeats 3
step train_step_stacked "${LIMIT_STEP:-120}" python3 experiments/bench/train_step.py --preset official \
  --batch 8 --formulation stacked --dtype bfloat16 --repeats 3 --ours-only
step throughput "${LIMIT_THROUGHPUT:-130}" python3 experiments/bench/throughput.py --batches 1,16 --repeats 3
step train_cli "${LIMIT_TRAIN:-110}" python3 -m tanet_jax.train --config experiments/configs/synthetic.py \
  --workdir /tmp/gpu_train --config.max_steps=400

#!/usr/bin/env bash
# One prepared run for a lent GPU (about 10 minutes in all; run it from the repository root):
#   1. the step benchmark (bench/gpu_step.py: SGD, the engine, AHTGA with its tail estimate on the
#      CPU and on the GPU, torch.func), about 1 minute;
#   2. the short CIFAR-10 comparison (bench/gpu_cifar.py: ResNet-18-GN, SGD / Adam / AHTGA, 3
#      epochs on 25k images), about 8 minutes, on the official python batches written from the
#      JPEG archive (CIFAR-10 here is JPEG re-encoded: every result file says so).
#
#   bash bench/gpu_session.sh OUT_DIR [ARCHIVE_DIR]
#
# ARCHIVE_DIR holds cifar10_yoongikim_jpg_q75.tar.xz and its to_official.py (default .gpu, an
# ignored folder to bring with the device tool's `carry`; ../shared/data/cifar10 has both).
# The conversion (Pillow, ~1 min) runs while the step benchmark runs.  Every step has its own
# timeout so one failure leaves the others' files.  Copy OUT_DIR/gpu_step.json and
# OUT_DIR/cifar/ into paper/measured/ afterwards (see paper/measured/README.md).  At the end the
# result, log and text files (no checkpoints) are also packed into OUT_DIR/gpu_session.tgz: one
# small file to bring back where only a few files may return (measured on one H200, 2026-12-04:
# the whole script took 127 s, the CIFAR-10 runs 67 s of it).
set -u
OUT=${1:?usage: bash bench/gpu_session.sh OUT_DIR [ARCHIVE_DIR]}
SRC=${2:-.gpu}
PY=${PYTHON:-python}
SMOKE=${SMOKE:+--smoke}          # SMOKE=1: CPU, tiny sizes, fake CIFAR data (checks the script)
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" >> "$OUT/gpu.txt" 2>&1
cp "$SRC/to_official.py" "$SRC/cifar10_yoongikim_jpg_q75.tar.xz" /tmp/ 2>/dev/null
( timeout 300 "$PY" /tmp/to_official.py /tmp/cifar > "$OUT/convert.log" 2>&1 ) &
CONVERT=$!
timeout 200 "$PY" -m bench.gpu_step $SMOKE --out "$OUT/gpu_step.json" > "$OUT/gpu_step.log" 2>&1
echo "gpu_step exit $?" >> "$OUT/status.txt"
wait "$CONVERT"
echo "convert exit $?" >> "$OUT/status.txt"
DATA="--data /tmp/cifar/cifar-10-batches-py"
[ -n "$SMOKE" ] && DATA=$SMOKE
timeout 500 "$PY" -m bench.gpu_cifar $DATA --out "$OUT/cifar" \
    > "$OUT/gpu_cifar.log" 2>&1
echo "gpu_cifar exit $?" >> "$OUT/status.txt"
tail -n 12 "$OUT/gpu_step.log" "$OUT/gpu_cifar.log"
( cd "$OUT" && find . -type f \( -name '*.json' -o -name '*.log' -o -name '*.txt' \) \
    | tar czf gpu_session.tgz -T - ) && echo "packed $OUT/gpu_session.tgz"

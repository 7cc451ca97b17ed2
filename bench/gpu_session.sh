#!/usr/bin/env bash
# One prepared run for a lent GPU (about 10 minutes in all; run it from the repository root):
#   1. the step benchmark (bench/gpu_step.py: SGD, the engine, AHTGA with its tail estimate on the
#      CPU and on the GPU, torch.func), about 1 minute;
#   2. the short CIFAR-10 comparison (bench/gpu_cifar.py: ResNet-18-GN, SGD / Adam / AHTGA, 3
#      epochs on 25k images), about 1 minute on an H200, on the official python batches written
#      from the JPEG archive (CIFAR-10 here is JPEG re-encoded: every result file says so);
#   3. when ARCHIVE_DIR/ptb/ptb.train.txt exists: the PTB word-level LSTM comparison of preset
#      ptb_lstm at scale small (SGD / Adam / AHTGA, each lr from its own 1-epoch sweep, 2 epochs,
#      seeds 0-2) under a 360 s timeout; the runner writes each finished sweep point and run, so
#      what the timeout cuts off resumes when OUT_DIR/ptb is brought back in and the step rerun.
#      Never run on a GPU yet (the LSTM's batched per-example rule, ahtga.engine.lstm, made the
#      AHTGA step 1.1-1.3x SGD on the CPU); copy ../shared/data/ptb to ARCHIVE_DIR/ptb to enable it.
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
if [ -f "$SRC/ptb/ptb.train.txt" ]; then
    PTB="--set device=cuda"
    [ -n "$SMOKE" ] && PTB="--set device=cpu --set max_train_examples=64 \
        --set model_kwargs={\"emb_dim\":8,\"hidden\":8,\"layers\":2} --set verify_checksums=false \
        --set epochs=1 --set lr_sweep=false --set num_threads=1"
    # locks left by an earlier session's timeout (brought back with OUT_DIR/ptb) would hold the
    # runs for 300 s on a new machine; this script is the only process writing there
    [ -d "$OUT/ptb" ] && find "$OUT/ptb" -name '*.lock' -delete
    timeout 360 "$PY" -m ahtga.experiments run ptb_lstm --scale small --data-dir "$SRC" \
        --out "$OUT/ptb" --seeds 0,1,2 --jobs 1 --set epochs=2 --set optimizers=sgd,adam,ahtga \
        --set progress=false $PTB > "$OUT/ptb.log" 2>&1
    echo "ptb exit $?" >> "$OUT/status.txt"
fi
tail -n 12 "$OUT/gpu_step.log" "$OUT/gpu_cifar.log"
( cd "$OUT" && find . -type f \( -name '*.json' -o -name '*.log' -o -name '*.txt' \) \
    | tar czf gpu_session.tgz -T - ) && echo "packed $OUT/gpu_session.tgz"

#!/bin/bash
# Fashion-MNIST small CNN, small scale: the controller's regime (plain AHTGA, the wider clamp) beside SGD,
# 10000 training images (as main_cifar), 3 seeds, each optimizer's lr from its own 1-epoch sweep
cd /work/main
export OMP_NUM_THREADS=1
cmd="run main_fashion --seeds 0,1,2 --scale small --data-dir /usr/share/datasets --out results/fashion_small --jobs 1 --set optimizers=sgd,ahtga,ahtga_clamp50 --set max_train_examples=10000 --set epochs=3 --set sweep_epochs=1 --set num_threads=1 --set progress=false"
echo "=== $(date -u +%FT%TZ) $(git rev-parse --short HEAD): python -m ahtga.experiments $cmd"
t0=$(date +%s)
nice -n 5 .venv/bin/python -m ahtga.experiments $cmd || echo "FAILED rc=$?"
echo "=== done in $(( $(date +%s) - t0 )) s"

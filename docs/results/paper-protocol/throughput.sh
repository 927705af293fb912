#!/usr/bin/env bash
# First device call: the paper-protocol grids at a few hundredths of their steps, one seed, 16 ranks sharing the
# GPU; the per-unit wall times (records' seeds[].wall_time_s) size the full call (run.sh). Writes under $OUT.
set -o pipefail
export PYTHONUNBUFFERED=1
R="torchrun --standalone --nproc-per-node 16 -m lsrl.cli reproduce"
mkdir -p "$OUT/tp"
{ nvidia-smi --query-gpu=name,memory.total --format=csv; python3 -c "import torch, triton; print(torch.__version__, triton.__version__)"; } 2>&1 | tee "$OUT/tp/device.txt"
( time $R negative-eigenvalues --protocol paper --scale 0.01 --seeds 1 --quiet --no-plots --out "$OUT/tp/ne" ) 2>&1 | tail -30 | tee "$OUT/tp/ne.log"
( time $R deltaproduct-groups --protocol paper --scale 0.02 --seeds 1 --quiet --no-plots --out "$OUT/tp/dg" ) 2>&1 | tail -30 | tee "$OUT/tp/dg.log"
tar czf "$OUT/tp.tar.gz" -C "$OUT" tp && rm -rf "$OUT/tp"

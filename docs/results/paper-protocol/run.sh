#!/usr/bin/env bash
# The device call of the paper-protocol grids (one GPU, torchrun ranks sharing it; run from the repository root,
# writes under $OUT). Phase 1 measures each cell's seconds per step at 1% of the papers' steps (one seed); size.py
# picks the largest --scale (the same for every cell of a grid: the papers' schedule shape, a fraction of their
# steps) at which each grid fits its seconds; phase 2 runs the grids at that scale. Siems et al.'s batch of 2048
# strings of length 128 runs on 8 ranks (GPU memory), Grazzi et al.'s on 16.
set -o pipefail
export PYTHONUNBUFFERED=1
D=docs/results/paper-protocol
NE_SECONDS=${NE_SECONDS:-170} DG_SECONDS=${DG_SECONDS:-60} NE_RANKS=16 DG_RANKS=8
mkdir -p "$OUT/pp/logs"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import torch, triton, platform; print('torch', torch.__version__, 'triton', triton.__version__, 'python', platform.python_version())"
} 2>&1 | tee "$OUT/pp/logs/device.txt"
phase() {  # RANKS LIMIT NAME LOG ARGS...: one timed reproduce launch in the paper's protocol, cut at LIMIT s
  local ranks=$1 limit=$2 name=$3 log=$4; shift 4
  { date -u; SECONDS=0
    timeout "$limit" torchrun --standalone --nproc-per-node "$ranks" -m lsrl.cli reproduce "$name" --protocol paper --quiet --no-plots "$@"
    echo "exit $? after $SECONDS s"; } > "$OUT/pp/logs/$log.log" 2>&1
  tail -3 "$OUT/pp/logs/$log.log"
}
phase $NE_RANKS 120 negative-eigenvalues ne-throughput --scale 0.01 --seeds 1 --out "$OUT/pp/ne-throughput"
phase $DG_RANKS 100 deltaproduct-groups dg-throughput --scale 0.01 --seeds 1 --tasks S:4,S:5 --out "$OUT/pp/dg-throughput"
NE_SCALE=$(python3 $D/size.py negative-eigenvalues "$OUT/pp/ne-throughput/negative-eigenvalues.json" 0.01 \
  "$NE_SECONDS" $NE_RANKS seeds=2)
DG_SCALE=$(python3 $D/size.py deltaproduct-groups "$OUT/pp/dg-throughput/deltaproduct-groups.json" 0.01 \
  "$DG_SECONDS" $DG_RANKS seeds=1 tasks=S:4,S:5)
NE_SCALE=${NE_SCALE:-0.05} DG_SCALE=${DG_SCALE:-0.02}  # if a throughput phase failed
echo "scales: negative-eigenvalues $NE_SCALE, deltaproduct-groups $DG_SCALE" | tee "$OUT/pp/logs/scales.txt"
phase $NE_RANKS $((NE_SECONDS + 60)) negative-eigenvalues ne --scale "$NE_SCALE" --seeds 2 --out "$OUT/pp/negative-eigenvalues"
phase $DG_RANKS $((DG_SECONDS + 50)) deltaproduct-groups dg --scale "$DG_SCALE" --seeds 1 --tasks S:4,S:5 --out "$OUT/pp/deltaproduct-groups"
tar czf "$OUT/paper-protocol.tar.gz" -C "$OUT" pp && rm -rf "$OUT/pp"

#!/usr/bin/env bash
# The device call of the paper-protocol grids (one GPU, torchrun ranks sharing it; run from the repository root,
# writes under $OUT). Phase 1 measures each cell's seconds per step at 1% of the papers' steps (one seed); size.py
# picks the largest --scale (the same for every cell of a grid: the papers' schedule shape, a fraction of their
# steps) at which each grid fits its seconds; phase 2 runs the grids at that scale. Siems et al.'s batch of 2048
# strings of length 128 runs on 8 ranks (GPU memory), Grazzi et al.'s on 16.
#
# `run.sh next-ne`, `run.sh next-dg-restricted`, `run.sh next-dg-groups`: the three calls planned for the next
# session (30 min of device time, 10 min a call), sized by size.py from this call's committed throughput records
# (throughput/) with the full phase's slowdown (1.3x) for Grazzi et al.'s grid and 60 s of extraction per unit for
# Siems et al.'s; each writes $OUT/paper-protocol-next-*.tar.gz (records, units, logs):
#   next-ne: the whole negative-eigenvalues paper grid (Table 3 with modarith-eq:5, Grazzi et al.'s data; the
#     ablation incl. the no-'=' factor), 2 seeds, 16 ranks, 420 s of training: --scale 0.0741 (7,410 of 100,000
#     modarith steps, 1,482 of 20,000 parity steps; size.py's figure, an estimate);
#   next-dg-restricted: the restricted S_5 rows (swaps, 3 points, 4 tokens), n_h 1..4, one seed, --extract, 8 ranks:
#     --scale 0.1044 (512 of 4,900 steps);
#   next-dg-groups: S:3 and A:5, n_h 1..4, one and two layers, one seed, --extract: --scale 0.0599 (294 steps).
# The full protocol (100,000 steps at 45-60 ms) needs 75-100 min a run: not one call; these are fractions of it.
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
next() {  # KIND SECONDS RANKS SIZE_OPTIONS -- REPRODUCE_ARGS...: size from the committed throughput, then one phase
  local kind=$1 seconds=$2 ranks=$3 size_opts=$4 scale; shift 5
  scale=$(python3 $D/size.py "$kind" "$D/throughput/$kind/$kind.json" 0.01 "$seconds" "$ranks" $size_opts)
  echo "$MODE: $kind --scale $scale" | tee "$OUT/pp/logs/scales.txt"
  phase "$ranks" $((seconds + 60)) "$kind" "$MODE" --scale "$scale" --out "$OUT/pp/$MODE" "$@"
  tar czf "$OUT/paper-protocol-$MODE.tar.gz" -C "$OUT" pp && rm -rf "$OUT/pp"
}
MODE=${1:-first}
DG_RESTRICTED=perm-moves:5:2,perm-moves:5:3,perm-tokens:5:4
case $MODE in
  next-ne) next negative-eigenvalues 420 $NE_RANKS "seeds=2 slowdown=1.3" -- --seeds 2; exit ;;
  next-dg-restricted) next deltaproduct-groups 420 $DG_RANKS "seeds=1 extra=60 tasks=$DG_RESTRICTED" -- \
    --seeds 1 --extract --tasks $DG_RESTRICTED; exit ;;
  next-dg-groups) next deltaproduct-groups 420 $DG_RANKS "seeds=1 extra=60 tasks=S:3,A:5" -- \
    --seeds 1 --extract --tasks S:3,A:5; exit ;;
  first) ;;
  *) echo "run.sh [next-ne | next-dg-restricted | next-dg-groups]" >&2; exit 2 ;;
esac
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

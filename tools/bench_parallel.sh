#!/usr/bin/env bash
# What parallelism costs on one machine: train the `small` preset for S steps at the same global batch in
# several layouts and print one Markdown table of tokens/s (over the steps after the first log interval) and the
# share of rank 0's time in collectives (metrics.jsonl's comm_share):
#   world 1             one rank on every core, 2 micro-batches accumulated
#   world 2 (dp 2)      two local ranks, one micro-batch each, an Engine of GOMAXPROCS/2 cores each
#   world 2 (ep 2)      the same with the experts split over the two ranks (tokens travel by all-to-all)
#   mpi world 2 (dp 2)  and (ep 2): two processes under mpirun, when the binary has the MPI backend and mpirun
#                       is installed (GOMAXPROCS = cores/2 each, --bind-to none)
#
# Usage (after `make build`): tools/bench_parallel.sh [--steps S] [--out DIR] [--config NAME]
#   --steps S    training steps of each run (default 30; log every 5)
#   --out DIR    where the runs go (default runs/bench-parallel; each run is started over with --force)
#   --config C   the preset (default small)
# MOETRAIN names another binary. Run it on an idle machine: the figures are ratios of one run of the script.
set -euo pipefail
{
steps=30
out=runs/bench-parallel
config=small
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    *) echo "bench_parallel.sh: unknown argument $1 (see the header for usage)" >&2; exit 2 ;;
  esac
done
bin="${MOETRAIN:-bin/moetrain}"
[ -x "$bin" ] || { echo "bench_parallel.sh: $bin not found; run make build first" >&2; exit 1; }
mkdir -p "$out"
cores=$(nproc)
common=(--config "$config" --force --set "train.steps=$steps" --set train.log_every=5 --set train.eval_every=0
  --set train.checkpoint_every=0 --set train.global_batch_size=16 --set train.micro_batch_size=8)

# summary RUN: "tokens/s comm_share" averaged over the records after the first.
summary() {
  python3 - "$1/metrics.jsonl" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])][1:]
tps = sum(r["tokens_per_s"] for r in recs) / len(recs)
comm = sum(r.get("comm_share", 0) for r in recs) / len(recs)
print(f"{tps:.0f} {comm:.3f}")
EOF
}

rows=()
layout() { # NAME WORLD EP [mpi]
  local name="$1" w="$2" ep="$3" how="${4:-local}" dir="$out/$1"
  local sets=(--set "parallel.world_size=$w" --set "parallel.expert_parallel=$ep")
  if [ "$how" = mpi ]; then
    GOMAXPROCS=$(( cores / w > 0 ? cores / w : 1 )) mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$w" \
      "$bin" pretrain "${common[@]}" "${sets[@]}" --set parallel.backend=mpi --out "$dir" > "$out/$name.log" 2>&1
  else
    "$bin" pretrain "${common[@]}" "${sets[@]}" --out "$dir" > "$out/$name.log" 2>&1
  fi
  read -r tps comm < <(summary "$dir")
  rows+=("| $name | $w | $ep | $tps | $comm |")
}
layout world1 1 1
layout world2-dp2 2 1
layout world2-ep2 2 2
if "$bin" version | grep -q '^mpi: *built in' && command -v mpirun >/dev/null; then
  layout mpi-world2-dp2 2 1 mpi
  layout mpi-world2-ep2 2 2 mpi
else
  echo "bench_parallel.sh: no MPI backend in $bin or no mpirun: the mpi rows are skipped" >&2
fi
echo "| layout | ranks | expert parallel | tokens/s | comm share (rank 0) |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
exit 0
}

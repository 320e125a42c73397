#!/usr/bin/env bash
# Runs `moetrain bench` and the PyTorch benchmark of the same model (tools/bench_torch.py) on the same
# configuration, back to back, on the same number of threads, and prints a side-by-side table:
# tokens/s, ms/step, model GFLOP/s, MFU, the measured float32 GEMM peak, peak RSS, and moetrain/PyTorch.
#
# Usage (from the repository root, after `make build`):
#   tools/bench_compare.sh [--config NAME|FILE] [--set k=v]... [--steps N] [--warmup N] [--threads N]
#                          [--repeat R] [--omp-wait passive,active] [--bf16] [--system-blas] [--json-dir DIR]
#   tools/bench_compare.sh --config tiny --set moe.num_experts=64 --repeat 2
#
# Each repeat runs, for every OpenMP wait policy in --omp-wait, moetrain once and PyTorch once with that
# policy, alternating; so each tool runs R x (number of policies) times (twice by default), and the
# table keeps each tool's best run (highest tokens/s). The figures of a busy shared machine are noisy,
# and the best run is the least disturbed one. The load average is printed before and after, and every
# run's tokens/s on stderr.
#
# How PyTorch is set up (Debian's python3-torch, /usr/bin/python3):
#   * LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp. Debian's torch calls the system OpenBLAS
#     for GEMMs; the default build (libopenblas0-pthread) runs its own pthread pool next to torch's OpenMP
#     pool, and on 2 cores the two fight (with spinning OpenMP threads a tiny step was 4x slower). The
#     OpenMP build shares torch's pool. Install it with
#       apt-get install -y libopenblas0-openmp
#     It does not change the system default, which stays the pthread build (update-alternatives gives it
#     the higher priority), so moetrain keeps linking the same library. --system-blas leaves the loader's
#     default in place, to measure the difference.
#   * OMP_NUM_THREADS and torch.set_num_threads set to --threads, ATEN_CPU_CAPABILITY=avx512.
#   * OMP_WAIT_POLICY: both passive and active by default (--omp-wait passive,active), best kept; neither
#     is right on both an idle and a busy machine. Spinning (active) OpenMP threads are fastest on idle
#     cores (tiny: 10400 tokens/s active, 6400 passive), but when other processes share the cores a
#     spinning thread waits for its descheduled partner at every barrier, and a step became 10-30x
#     slower than a passive one (a run of `small` then takes minutes; --omp-wait passive skips it).
# moetrain runs with GOMAXPROCS=--threads (its GEMMs are split over goroutines, OpenBLAS single-threaded).
set -euo pipefail
# The whole script is one braced block, read before it runs: editing the file during a run cannot change it.
{

cd "$(dirname "$0")/.."
MOETRAIN=${MOETRAIN:-bin/moetrain}
PYTHON=${PYTHON:-/usr/bin/python3}
OPENMP_BLAS_DIR=/usr/lib/x86_64-linux-gnu/openblas-openmp

config=tiny steps=10 warmup=3 threads=2 repeat=1 bf16="" system_blas=0 json_dir="" waits=passive,active
sets=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	-c | --config) config=$2; shift 2 ;;
	--set) sets+=(--set "$2"); shift 2 ;;
	--steps) steps=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--repeat) repeat=$2; shift 2 ;;
	--omp-wait) waits=$2; shift 2 ;;
	--bf16) bf16=--bf16; shift ;;
	--system-blas) system_blas=1; shift ;;
	--json-dir) json_dir=$2; shift 2 ;;
	-h | --help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench_compare: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

if [[ ! -x $MOETRAIN ]]; then
	echo "bench_compare: $MOETRAIN not found; run \`make build\` first" >&2
	exit 1
fi
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
	echo "bench_compare: $PYTHON has no torch (Debian: apt-get install -y python3-torch)" >&2
	exit 1
fi

blas_mode=system
torch_libpath=${LD_LIBRARY_PATH:-}
if [[ $system_blas == 0 ]]; then
	if [[ -d $OPENMP_BLAS_DIR ]]; then
		torch_libpath=$OPENMP_BLAS_DIR${torch_libpath:+:$torch_libpath}
		blas_mode=openmp
	else
		echo "bench_compare: $OPENMP_BLAS_DIR missing; PyTorch uses the default OpenBLAS, which fights" \
			"its OpenMP threads (apt-get install -y libopenblas0-openmp)" >&2
	fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

IFS=, read -r -a wait_list <<<"$waits"
for w in "${wait_list[@]}"; do
	if [[ $w != passive && $w != active ]]; then
		echo "bench_compare: --omp-wait takes passive, active or both separated by a comma, not $w" >&2
		exit 2
	fi
done
n=0
for ((r = 1; r <= repeat; r++)); do
	for w in "${wait_list[@]}"; do
		n=$((n + 1))
		env -u LD_LIBRARY_PATH GOMAXPROCS="$threads" \
			"$MOETRAIN" bench --config "$config" "${sets[@]}" --steps "$steps" --warmup "$warmup" --json \
			>"$tmp/moetrain.$n.json"
		printf 'run %d moetrain:        %8.0f tokens/s (load %s)\n' "$n" \
			"$(grep -o '"tokens_per_s":[0-9.]*' "$tmp/moetrain.$n.json" | cut -d: -f2)" "$(cut -d' ' -f1 /proc/loadavg)" >&2
		# Re-execute Python with the thread, ISA, wait and BLAS environment: the loader reads
		# LD_LIBRARY_PATH, and torch and libgomp read the rest, only at start-up.
		env LD_LIBRARY_PATH="$torch_libpath" OMP_NUM_THREADS="$threads" ATEN_CPU_CAPABILITY=avx512 \
			OMP_WAIT_POLICY="$w" \
			"$PYTHON" tools/bench_torch.py --blas system --moetrain "$MOETRAIN" --config "$config" "${sets[@]}" \
			--steps "$steps" --warmup "$warmup" --threads "$threads" $bf16 --json >"$tmp/torch.$n.json"
		echo "$w" >"$tmp/wait.$n"
		printf 'run %d pytorch %-7s: %8.0f tokens/s (load %s)\n' "$n" "$w" \
			"$(grep -o '"tokens_per_s": [0-9.]*' "$tmp/torch.$n.json" | cut -d' ' -f2)" "$(cut -d' ' -f1 /proc/loadavg)" >&2
	done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
if [[ -n $json_dir ]]; then
	mkdir -p "$json_dir"
	cp "$tmp"/*.json "$json_dir"/
fi

"$PYTHON" - "$tmp" "$n" "$config ${sets[*]}" "$threads" "$blas_mode" \
	"$load_before" "$load_after" <<'EOF'
import json
import sys

tmp, nruns, label, threads, blas_mode, load_before, load_after = sys.argv[1:]
def best(tool):
    runs = []
    for r in range(1, int(nruns) + 1):
        x = json.load(open(f"{tmp}/{tool}.{r}.json"))
        if tool == "torch":
            x["wait"] = open(f"{tmp}/wait.{r}").read().strip()
        runs.append(x)
    return max(runs, key=lambda x: x["tokens_per_s"]), runs

mt, mt_all = best("moetrain")
pt, pt_all = best("torch")
mib = 2 ** 20
rows = [
    ("tokens/s", "tokens_per_s", 1, "{:.0f}"),
    ("ms/step", "ms_per_step", 1, "{:.1f}"),
    ("model GFLOP/s", "gflops", 1, "{:.2f}"),
    ("of GEMM peak", "gemm_util", 100, "{:.1f}%"),
    ("GEMM peak GFLOP/s", "gemm_peak_gflops", 1, "{:.1f}"),
    ("peak RSS MiB", "peak_rss_bytes", 1 / mib, "{:.0f}"),
]
print(f"config {label.strip()}: {mt['tokens_per_step']} tokens/step, "
      f"{mt['flops_per_token'] / 1e6:.2f} MFLOP/token, {mt['params']} params, {threads} threads, "
      f"best of {nruns} runs each, load average {load_before} before, {load_after} after")
if mt["flops_per_token"] != pt["flops_per_token"] or mt["params"] != pt["params"] \
        or mt["tokens_per_step"] != pt["tokens_per_step"]:
    print(f"WARNING: models differ: flops/token {mt['flops_per_token']} vs {pt['flops_per_token']}, "
          f"params {mt['params']} vs {pt['params']}, tokens/step {mt['tokens_per_step']} vs {pt['tokens_per_step']}")
print(f"{'':20s} {'moetrain':>12s} {'PyTorch':>12s} {'moetrain/PyTorch':>17s}")
for name, key, scale, fmt in rows:
    a, b = mt[key] * scale, pt[key] * scale
    ratio = f"{a / b:.2f}x" if b else "-"
    print(f"{name:20s} {fmt.format(a):>12s} {fmt.format(b):>12s} {ratio:>17s}")
print(f"moetrain: gemm {mt.get('gemm', mt['blas'])}, blas {mt['blas']}, GOMAXPROCS {mt['threads']}; tokens/s of all runs "
      + ", ".join(f"{x['tokens_per_s']:.0f}" for x in mt_all))
print(f"PyTorch {pt['torch']} ({pt['dtype']}): blas {blas_mode} ({pt['blas'].split(',')[-1]}), "
      f"{pt['threads']} threads, ATEN_CPU_CAPABILITY={pt['cpu_capability']}, best run OMP_WAIT_POLICY={pt['wait']}, "
      f"RSS after import {pt['rss_after_import_bytes'] / mib:.0f} MiB; tokens/s of all runs "
      + ", ".join(f"{x['tokens_per_s']:.0f} ({x['wait']})" for x in pt_all))
EOF
exit
}

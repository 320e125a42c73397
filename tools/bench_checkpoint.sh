#!/usr/bin/env bash
# Checkpoint save and load times of the small and olmoe-style presets, against the disk's write rate.
#
# Usage:
#   tools/bench_checkpoint.sh [--presets "small olmoe-style"] [--steps N] [--every K] [--out DIR]
#   MOETRAIN    the binary (default bin/moetrain; `make build`)
#   MAX_LOAD    refuse to run while the 1-minute load average is above this (default 1.2); the script waits
#               up to 5 x 60 s for the machine to be idle, then exits 3
#
# For each preset, at its full model shape (only the batch is cut, micro_batch_size 2 and seq_len 64, so
# that a step is short: a checkpoint's size does not depend on the batch), it trains N steps (default 8)
# three times in DIR (default a temporary directory, on the filesystem the checkpoints go to):
#   - without saves (train.checkpoint_every larger than N): the step-time baseline;
#   - with a synchronous save every K steps (default 2): "training held X ms" is the whole save (write, fsync of
#     every file and the directory, rename, latest, prune), so size / X is the save throughput;
#   - with train.async_save every K steps: X (each save's, in order) is the snapshot, plus the wait for
#     the previous save's write when that write takes longer than K steps (the next save waits for it).
# The step-time overhead of a save is (elapsed at step N with saves - elapsed without) / saves before step N,
# from metrics.jsonl's elapsed_s (the final save comes after the last record).
# Load: a --resume of the finished run (which says "nothing to do" once it has loaded and verified the
# checkpoint) is timed from its "data:" line to its "model:" line, minus the same interval of a fresh
# start (the model's initialisation): checkpoint.Load of every model and optimizer file with its SHA-256,
# from the page cache (the checkpoint was just written).
# Disk: dd of a file the size of the checkpoint with conv=fsync into DIR.
# It prints a Markdown table (BENCHMARKS.md, "Checkpoints").
set -uo pipefail

presets="small olmoe-style" steps=8 every=2 out=""
while [ $# -gt 0 ]; do
	case "$1" in
	--presets) presets="$2"; shift 2 ;;
	--steps) steps="$2"; shift 2 ;;
	--every) every="$2"; shift 2 ;;
	--out) out="$2"; shift 2 ;;
	-h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench_checkpoint: unknown argument '$1'; see tools/bench_checkpoint.sh --help" >&2; exit 2 ;;
	esac
done
if ! [[ "$steps" =~ ^[0-9]+$ ]] || [ "$steps" -lt 4 ]; then
	echo "bench_checkpoint: --steps $steps: want an integer of at least 4" >&2; exit 2
fi
if ! [[ "$every" =~ ^[0-9]+$ ]] || [ "$every" -lt 1 ] || [ "$every" -ge "$steps" ]; then
	echo "bench_checkpoint: --every $every: want a save interval of 1 to --steps - 1 ($(( steps - 1 )))" >&2; exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
MT=${MOETRAIN:-$root/bin/moetrain}
[ -x "$MT" ] || { echo "bench_checkpoint: $MT is not an executable; run make build or set MOETRAIN" >&2; exit 2; }
keep=true
if [ -z "$out" ]; then out=$(mktemp -d "${TMPDIR:-/tmp}/bench_checkpoint.XXXXXX"); keep=false; fi
mkdir -p "$out" || exit 2

max_load=${MAX_LOAD:-1.2}
for try in 1 2 3 4 5 6; do
	load=$(cut -d' ' -f1 /proc/loadavg)
	awk -v l="$load" -v m="$max_load" 'BEGIN { exit !(l < m) }' && break
	if [ "$try" -eq 6 ]; then
		echo "bench_checkpoint: load average $load stayed above $max_load for 5 minutes; not measuring on a busy machine" >&2
		exit 3
	fi
	echo "bench_checkpoint: load average $load >= $max_load; waiting 60 s ($try/5)" >&2
	sleep 60
done

now_ns() { date +%s%N; }

# train DIR LOG ARGS...: one pretrain run, every output line prefixed with its time in ns.
train() {
	local dir="$1" log="$2"; shift 2
	"$MT" pretrain --out "$dir" "$@" 2>&1 | while IFS= read -r line; do echo "$(now_ns) $line"; done >"$log"
	return "${PIPESTATUS[0]}"
}

# between LOG A B: ms from the first line starting with A to the first starting with B.
between() {
	awk -v a="$2" -v b="$3" '
		ta == "" && index($2" "$3, a) == 1 { ta = $1 }
		tb == "" && index($2" "$3, b) == 1 { tb = $1 }
		END { if (ta == "" || tb == "") exit 1; printf "%.0f\n", (tb - ta) / 1e6 }' "$1"
}

# held LOG: median of the "training held X ms" figures.
held() {
	grep -oE 'training held [0-9]+ ms' "$1" | awk '{ print $3 }' | sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) exit 1; print a[int((NR + 1) / 2)] }'
}

# elapsed RUN STEP: elapsed_s of metrics.jsonl's record of STEP.
elapsed() {
	grep -E "^\{\"step\":$2," "$1/metrics.jsonl" | head -1 | grep -oE '"elapsed_s":[0-9.e+-]+' | cut -d: -f2
}

echo "| preset | parameters | checkpoint MB | dd fsync MB/s | sync save ms | save MB/s | async held ms, each save | step ms (no saves) | overhead per save, sync ms | overhead per save, async ms | load ms | load MB/s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
saves=$(( (steps - 1) / every ))
for p in $presets; do
	sets=(--config "$p" --set train.micro_batch_size=2 --set train.seq_len=64 --set train.steps="$steps"
		--set train.eval_every=1000000 --set train.log_every=1 --set train.keep_last=2 --set train.warmup_steps=1)
	d="$out/$p"
	rm -rf "$d" && mkdir -p "$d"
	fail() { echo "bench_checkpoint: $p: $*" >&2; exit 1; }
	train "$d/none" "$d/none.log" "${sets[@]}" --set train.checkpoint_every=$(( steps * 10 )) || fail "run without saves failed: $(tail -3 "$d/none.log")"
	train "$d/sync" "$d/sync.log" "${sets[@]}" --set train.checkpoint_every=$every || fail "sync run failed: $(tail -3 "$d/sync.log")"
	train "$d/async" "$d/async.log" "${sets[@]}" --set train.checkpoint_every=$every --set train.async_save=true || fail "async run failed: $(tail -3 "$d/async.log")"
	train "$d/sync" "$d/resume.log" "${sets[@]}" --set train.checkpoint_every=$every --resume || fail "resume failed: $(tail -3 "$d/resume.log")"
	grep -q "nothing to do" "$d/resume.log" || fail "the resume did not stop at step $steps: $(tail -3 "$d/resume.log")"
	step_dir="$d/sync/checkpoints/$(cat "$d/sync/checkpoints/latest")"
	bytes=$(cat "$step_dir"/*.safetensors "$step_dir/manifest.json" | wc -c)
	mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
	params=$(grep -m1 -oE '[0-9.]+[kMG]? parameters' "$d/none.log" | cut -d' ' -f1)
	# The disk: write the same number of bytes, fsynced, into the same filesystem.
	t0=$(now_ns)
	dd if=/dev/zero of="$d/dd.bin" bs=1M count=$(( bytes / 1048576 + 1 )) conv=fsync status=none || fail "dd into $d failed"
	dd_ms=$(( ($(now_ns) - t0) / 1000000 ))
	rm -f "$d/dd.bin"
	sync_ms=$(held "$d/sync.log") || fail "no 'training held' line in $d/sync.log"
	held "$d/async.log" >/dev/null || fail "no 'training held' line in $d/async.log"
	async_all=$(grep -oE 'training held [0-9]+ ms' "$d/async.log" | awk '{ print $3 }' | paste -sd/ | sed 's|/| / |g')
	e_none=$(elapsed "$d/none" "$steps") e_sync=$(elapsed "$d/sync" "$steps") e_async=$(elapsed "$d/async" "$steps")
	[ -n "$e_none" ] && [ -n "$e_sync" ] && [ -n "$e_async" ] || fail "metrics.jsonl lacks the elapsed_s of step $steps"
	load_resume=$(between "$d/resume.log" "data:" "model:") || fail "no data:/model: lines in $d/resume.log"
	load_fresh=$(between "$d/none.log" "data:" "model:") || fail "no data:/model: lines in $d/none.log"
	load_ms=$(( load_resume - load_fresh ))
	[ "$load_ms" -gt 0 ] || load_ms=1
	awk -v p="$p" -v params="$params" -v mb="$mb" -v dd="$dd_ms" -v s="$sync_ms" -v a="$async_all" -v en="$e_none" \
		-v es="$e_sync" -v ea="$e_async" -v n="$steps" -v k="$saves" -v l="$load_ms" 'BEGIN {
		printf "| %s | %s | %.1f | %.0f | %.0f | %.0f | %s | %.0f | %.0f | %.0f | %.0f | %.0f |\n",
			p, params, mb, mb / (dd / 1000), s, mb / (s / 1000), a, en * 1000 / n,
			(es - en) * 1000 / k, (ea - en) * 1000 / k, l, mb / (l / 1000) }'
done
$keep || rm -rf "$out"

#!/usr/bin/env bash
# Crash test of checkpointing: a run killed with SIGKILL at random moments and resumed each time ends
# bit-identical to the same run left alone.
#
# Usage:
#   tools/crash_test.sh [--kills N] [--world W] [--ep E] [--async] [--steps S] [--seed R] [--out DIR]
#     --kills N   SIGKILLs to deliver (default 4); the long form is --kills 20 or more
#     --world W   ranks (parallel.world_size, one process; default 1)
#     --ep E      expert-parallel degree (parallel.expert_parallel; default 1)
#     --async     train.async_save: true (saves written in the background)
#     --steps S   training steps (default 400; the tiny preset shrunk, a checkpoint every 2 steps)
#     --seed R    seed of the kill schedule (default: random, printed; the same seed draws the same targets,
#                 the moments still depend on timing)
#     --out DIR   keep the runs and logs in DIR (default: a temporary directory, removed on success)
#   MOETRAIN     the binary (default bin/moetrain; `make build`); CRASHCMP the comparer (default: built
#                from tools/crashcmp)
#   make crash   runs the short form (world 1 sync, world 2 async with ep 2, 4 kills each); the long form:
#                tools/crash_test.sh --kills 24 --world 2 --ep 2 --async
#
# What it does: trains once uninterrupted (the reference), then trains the same configuration in a second
# run directory, killing the process (every rank: multi-rank runs share one process) N times, and after
# each kill starts it again: with --resume (--resume auto where the binary has it) when a checkpoint is on
# disk, else from scratch with --force. The kills cycle through three kinds: aimed at a save (as soon as
# the save's .tmp-step-*-shards directory appears, or 0-2 ms later, while the files are being written and
# renamed; in the background with --async), at a random moment within a random step, and during start-up
# or resume. A kill
# counts as landing during a save when it leaves evidence of one: a .tmp-step-*-shards directory, or a
# newest step directory that `latest` does not name yet.
#
# What it checks, with tools/crashcmp (exit 1 with every difference):
#   - the final checkpoint's model and optimizer tensors are bit-identical to the reference's (compared
#     as loaded by checkpoint.Load, so layout-independent), and so are its step and sampler state;
#   - its `samples` (step x global batch) and `tokens` equal the reference's, and metrics.jsonl has the
#     same records: step, tokens, loss, lr and grad norm, exactly. No sample is repeated or skipped: the
#     data stream is a function of the sampler position (epoch, position), which every checkpoint
#     carries, and a resume truncates metrics.jsonl after the step it resumes from;
#   - the model-rank-*.safetensors files have the same sha256 as the reference's. At the same layout
#     these files are byte-identical: their header is sorted by tensor name and holds only the step and
#     rank as metadata (the write time is in manifest.json, which therefore differs), and every rank
#     writes the same element ranges;
#   - no debris of an interrupted save is left in the final run's checkpoints directory.
#   - the life that finished resumed from the step `latest` named ("resuming at step N" in its log).
# On success it prints one summary line (kills, kills during saves, resumes) and exits 0.
#
# Mutations caught: restarting every life with --force instead of resuming fails the resume check; a
# checkpoint whose sampler position is off by one batch (edited in manifest.json after a kill) fails
# crashcmp on the model tensors.
set -uo pipefail

kills=4 world=1 ep=1 async=false steps=400 seed="" out=""
while [ $# -gt 0 ]; do
	case "$1" in
	--kills) kills="$2"; shift 2 ;;
	--world) world="$2"; shift 2 ;;
	--ep) ep="$2"; shift 2 ;;
	--async) async=true; shift ;;
	--steps) steps="$2"; shift 2 ;;
	--seed) seed="$2"; shift 2 ;;
	--out) out="$2"; shift 2 ;;
	-h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "crash_test: unknown argument '$1'; see tools/crash_test.sh --help" >&2; exit 2 ;;
	esac
done
for v in kills world ep steps; do
	if ! [[ "${!v}" =~ ^[0-9]+$ ]] || [ "${!v}" -lt 1 ]; then
		echo "crash_test: --$v ${!v}: want a positive integer" >&2; exit 2
	fi
done
[ -n "$seed" ] || seed=$(( $(date +%s%N) % 32768 ))
[[ "$seed" =~ ^[0-9]+$ ]] || { echo "crash_test: --seed $seed: want a non-negative integer" >&2; exit 2; }
RANDOM=$seed

root=$(cd "$(dirname "$0")/.." && pwd)
MT=${MOETRAIN:-$root/bin/moetrain}
[ -x "$MT" ] || { echo "crash_test: $MT is not an executable; run make build or set MOETRAIN" >&2; exit 2; }
keep=true
if [ -z "$out" ]; then out=$(mktemp -d "${TMPDIR:-/tmp}/crash_test.XXXXXX"); keep=false; fi
mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd)
ref="$out/ref" run="$out/crash"
rm -rf "$ref" "$run" "$out"/crash-*.log

CMP=${CRASHCMP:-}
if [ -z "$CMP" ]; then
	CMP="$out/crashcmp"
	(cd "$root" && go build -o "$CMP" ./tools/crashcmp) || { echo "crash_test: building tools/crashcmp failed" >&2; exit 2; }
fi

every=2
sets=(--config tiny
	--set model.d_model=32 --set model.n_layers=2 --set model.n_heads=2 --set model.n_kv_heads=1
	--set moe.num_experts=4 --set moe.expert_ffn_hidden_size=32 --set model.max_seq_len=32
	--set train.seq_len=32 --set train.micro_batch_size=4 --set train.steps="$steps"
	--set train.warmup_steps=2 --set train.eval_every=1000000 --set train.log_every=1
	--set train.checkpoint_every=$every --set train.async_save=$async
	--set parallel.world_size="$world" --set parallel.expert_parallel="$ep")
resume=(--resume)
if "$MT" pretrain --help 2>&1 | grep -q -- '--resume.*auto'; then resume=(--resume auto); fi

fail() {
	echo "crash_test: FAIL: $*" >&2
	echo "crash_test: runs and logs kept in $out (seed $seed)" >&2
	exit 1
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

t0=$(now_ms)
"$MT" pretrain "${sets[@]}" --out "$ref" >"$out/ref.log" 2>&1 || fail "reference run exited $?: $(tail -3 "$out/ref.log")"
ref_ms=$(( $(now_ms) - t0 ))
step_ms=$(( ref_ms / steps + 1 ))

# latest_step prints the step `latest` names in the crashed run (0 without one).
latest_step() {
	local l="$run/checkpoints/latest"
	if [ -f "$l" ]; then
		local name; name=$(cat "$l"); name=${name#step-}
		echo $(( 10#$name ))
	else
		echo 0
	fi
}

# mid_save says whether the crashed run's checkpoints directory shows a save cut short.
mid_save() {
	local ck="$run/checkpoints"
	[ -d "$ck" ] || return 1
	compgen -G "$ck/.tmp-step-*" >/dev/null && return 0
	local newest; newest=$(cd "$ck" && ls -d step-* 2>/dev/null | sort | tail -1)
	[ -n "$newest" ] && [ "$newest" != "$(cat "$ck/latest" 2>/dev/null)" ]
}

# wait_line PID LOG REGEX: waits until a line of LOG matches REGEX or PID ends.
wait_line() {
	# Process substitution, not a pipe: a pipeline would wait for tail, which ends only at the next line.
	grep -q -m1 -E "$3" < <(timeout $(( ref_ms / 1000 * 10 + 60 )) tail -n +1 -F --pid="$1" "$2" 2>/dev/null)
}

# rand_ms N prints a random integer in [0, N).
rand_ms() { echo $(( (RANDOM * 32768 + RANDOM) % ($1 > 0 ? $1 : 1) )); }

done_kills=0 save_kills=0 resumes=0 starts=0
while :; do
	starts=$(( starts + 1 ))
	log="$out/crash-$starts.log"
	from=$(latest_step)
	args=()
	if [ "$from" -gt 0 ] || compgen -G "$run/checkpoints/step-*" >/dev/null; then
		args=("${resume[@]}"); resumes=$(( resumes + 1 ))
	elif [ -e "$run" ]; then
		args=(--force) # killed before its first checkpoint: start over
	fi
	"$MT" pretrain "${sets[@]}" --out "$run" "${args[@]}" >"$log" 2>&1 &
	pid=$!
	if [ "$done_kills" -lt "$kills" ]; then
		span=$(( steps / kills + 2 )) # steps a life may last before its kill: the run outlives N kills
		target=$(( from + 1 + $(rand_ms "$span") ))
		[ "$target" -le "$steps" ] || target=$steps
		case $(( done_kills % 3 )) in
		0) # during a save: just after a checkpoint step's line
			target=$(( (target + every - 1) / every * every ))
			[ "$target" -lt "$steps" ] || target=$(( (steps - 1) / every * every ))
			# From the step before it, spin until the save's pending directory appears.
			pend=$(printf '%s/checkpoints/.tmp-step-%08d-shards' "$run" "$target")
			fin=$(printf '%s/checkpoints/step-%08d' "$run" "$target")
			wait_line "$pid" "$log" "^step $(( target - 1 ))/"
			while kill -0 "$pid" 2>/dev/null && [ ! -d "$pend" ] && [ ! -d "$fin" ]; do :; done
			[ "$(rand_ms 2)" -eq 0 ] || sleep "0.00$(rand_ms 3)" ;;
		1) # at a random moment of a random step
			wait_line "$pid" "$log" "^step $target/"
			sleep "$(printf '0.%03d' "$(rand_ms $(( step_ms < 999 ? step_ms : 999 )))")" ;;
		2) # during start-up or resume
			sleep "$(printf '0.%03d' "$(rand_ms 300)")" ;;
		esac
		if kill -9 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			done_kills=$(( done_kills + 1 ))
			if mid_save; then save_kills=$(( save_kills + 1 )); fi
			echo "kill $done_kills: start $starts from step $from, killed near step $(grep -oE '^step [0-9]+/' "$log" | tail -1 | tr -dc 0-9)$(mid_save && echo ', during a save')"
			continue
		fi
	fi
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] || fail "start $starts (from step $from) exited $rc: $(tail -3 "$log")"
	grep -qE '^done: |nothing to do' "$log" || fail "start $starts ended without finishing: $(tail -3 "$log")"
	# The life that finishes must have continued a checkpoint, or the comparison proves nothing.
	[ "$from" -gt 0 ] || fail "start $starts, the one that finished, did not resume (every kill came before the first checkpoint); rerun with another --seed"
	grep -qE "^resuming at step $from |already at step $from " "$log" ||
		fail "start $starts did not resume from step $from, which latest names: $(grep -m1 -iE 'resum|already' "$log" || head -3 "$log")"
	[ "$done_kills" -ge "$kills" ] || fail "the run finished after $done_kills of $kills kills; raise --steps"
	break
done

compgen -G "$run/checkpoints/.tmp-*" >/dev/null && fail "debris of an interrupted save left: $(ls -a "$run/checkpoints")"
"$CMP" "$ref" "$run" >"$out/crashcmp.txt" 2>&1 || fail "$(cat "$out/crashcmp.txt")"
final=$(cat "$ref/checkpoints/latest")
for f in "$ref/checkpoints/$final"/model-rank-*.safetensors; do
	g="$run/checkpoints/$final/$(basename "$f")"
	[ -f "$g" ] || fail "$g is missing (the reference has $f)"
	[ "$(sha256sum <"$f")" = "$(sha256sum <"$g")" ] || fail "$g differs in bytes from $f"
done
if [ "$save_kills" -lt 1 ]; then fail "no kill landed during a save ($done_kills kills); rerun, or raise --kills"; fi
echo "crash test passed: world $world ep $ep async $async, $steps steps, $done_kills kills ($save_kills during saves), $resumes resumes, seed $seed; $(cat "$out/crashcmp.txt")"
$keep || rm -rf "$out"
exit 0

#!/usr/bin/env bash
# The fine-tuning experiment of the README: pre-train the `tiny` MoE on a real corpus, make a small task
# from that corpus (tools/make_task_data.py: upper-case a phrase), and compare on the task's held-out
# records: the base model; LoRA on attention and every expert (the lora.* defaults); LoRA on attention
# only; full fine-tuning. Then prune the base and the fully fine-tuned model to half their experts by both
# methods (calibrated on the task's training records) and score them on the task and on general text. Prints one Markdown table per part (also in OUT/finetune.md,
# OUT/prune.md).
#
# Usage (after `make build`):
#   tools/finetune_experiment.sh [--pretrain-steps N] [--steps S] [--out DIR] [--data PATH] [--force]
#     --pretrain-steps N   steps of the base model (default 1500)
#     --steps S            fine-tuning steps of every run (default 300)
#     --out DIR            runs, logs and tables (default runs/finetune-experiment)
#     --data PATH          the corpus (default: OUT/corpus.txt, 1.2 MB of the Go toolchain's source, written by
#                          tools/go_corpus.sh; any text file works)
#     --force              start over in an --out that holds runs
#   tools/finetune_experiment.sh --pretrain-steps 4 --steps 4 --out /tmp/ftx   # a smoke test, seconds
#
# Columns: completion loss is `moetrain eval --data task_test.jsonl` (the mean over completion tokens of
# the held-out records); trainable parameters as the run reports them; peak RSS of the finetune
# process (GNU time's maximum resident set size); tokens/s = trained (completion) tokens over training
# time (metrics.jsonl). MOETRAIN names another binary.
set -euo pipefail
{

cd "$(dirname "$0")/.."
MOETRAIN=${MOETRAIN:-bin/moetrain}
psteps=1500 steps=300 out=runs/finetune-experiment data= force=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	--pretrain-steps) psteps=$2; shift 2 ;;
	--steps) steps=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--data) data=$2; shift 2 ;;
	--force) force=(--force); shift ;;
	-h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) echo "finetune_experiment: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
die() { echo "finetune_experiment: $*" >&2; exit 1; }
for v in psteps steps; do [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "${v} ${!v}: want a positive whole number"; done
[[ -x $MOETRAIN ]] || die "$MOETRAIN not found; run \`make build\` first (or set MOETRAIN)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time) is needed for peak RSS: apt-get install time"
if [[ -e $out && ${#force[@]} -eq 0 && -n $(ls -A "$out") ]]; then
	die "$out already holds files; pass --force to start over in it, or another --out"
fi
mkdir -p "$out"
if [[ -z $data ]]; then
	data=$out/corpus.txt
	tools/go_corpus.sh "$data"
fi
[[ -r $data ]] || die "--data $data: no such readable file"
data=$(realpath "$data")

# timed NAME ARGS...: runs moetrain ARGS, output in OUT/NAME.log, peak RSS (KiB) in OUT/NAME.rss.
timed() {
	local name=$1
	shift
	echo "\$ moetrain $*" | sed "s#$out/#OUT/#g; s#$data#DATA#g" >&2
	if ! /usr/bin/time -f %M -o "$out/$name.rss" "$MOETRAIN" "$@" >"$out/$name.log" 2>&1; then
		tail -n 20 "$out/$name.log" >&2
		die "$name failed; its output is in $out/$name.log"
	fi
}
loss() { "$MOETRAIN" eval --json "$@" | grep -o '"loss":[^,}]*' | cut -d: -f2; }
field() { grep -o "\"$2\":[^,}]*" "$out/$1/metrics.jsonl" | tail -n 1 | cut -d: -f2; }

python3 tools/make_task_data.py --corpus "$data" --out "$out" >/dev/null
test=$out/task_test.jsonl
ev=$((steps / 3 > 0 ? steps / 3 : 1))
ft=(--data "$out/task_train.jsonl" "${force[@]}" --set train.steps="$steps" --set train.warmup_steps=$((steps / 10))
	--set train.eval_every="$ev" --set train.checkpoint_every="$steps" --set data.val_fraction=0.05)

timed base pretrain --config tiny --data "$data" --out "$out/base" "${force[@]}" --set train.steps="$psteps" \
	--set train.warmup_steps=$((psteps / 10)) --set train.eval_every=$((psteps < 250 ? psteps : 250)) --set train.checkpoint_every="$psteps"
timed lora-experts finetune --from "$out/base" --out "$out/lora-experts" --lora "${ft[@]}"
timed lora-attn finetune --from "$out/base" --out "$out/lora-attn" --lora --set lora.targets=q_proj,k_proj,v_proj,o_proj "${ft[@]}"
timed full finetune --from "$out/base" --out "$out/full" "${ft[@]}" --set train.lr=1e-3 --set train.min_lr=1e-4

trainable() { grep -oE '^lora: [0-9]+ trainable|^finetune: full, every one of the [^ ]+' "$out/$1.log" | grep -oE '[0-9.]+[kM]?$|[0-9]+ trainable' | grep -oE '^[0-9.]+[kM]?'; }
general=$out/general.txt # the corpus' validation end: its last 5%
tail -c $(($(wc -c <"$data") / 20)) "$data" >"$general"
{
	echo "| run | trainable parameters | completion loss (test) | loss on general text | peak RSS MiB | trained tokens/s | wall s of training |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	printf "| base (no fine-tuning) | 0 | %.4f | %.4f | | | |\n" "$(loss --ckpt "$out/base" --data "$test")" "$(loss --ckpt "$out/base" --data "$general")"
	for name in lora-experts lora-attn full; do
		tokens=$(field "$name" tokens) el=$(field "$name" elapsed_s)
		awk -v n="$name" -v p="$(trainable "$name")" -v l="$(loss --ckpt "$out/$name" --data "$test")" -v g="$(loss --ckpt "$out/$name" --data "$general")" \
			-v r="$(cat "$out/$name.rss")" -v t="$tokens" -v e="$el" \
			'BEGIN { printf "| %s | %s | %.4f | %.4f | %.0f | %.0f | %.1f |\n", n, p, l, g, r / 1024, (e > 0 ? t / e : 0), e }'
	done
} >"$out/finetune.md"

{
	echo "| model | experts per MoE layer | loss on the task (test) | loss on general text |"
	echo "|---|---:|---:|---:|"
	for m in base full; do
		printf "| %s | 8 | %.4f | %.4f |\n" "$m" "$(loss --ckpt "$out/$m" --data "$test")" "$(loss --ckpt "$out/$m" --data "$general")"
	done
	# prune calibrates on text: the task's training records, one "prompt completion" line each
	python3 -c 'import json,sys; [print(r["prompt"] + r["completion"]) for r in map(json.loads, open(sys.argv[1]))]' \
		"$out/task_train.jsonl" >"$out/task_train.txt"
	for m in base full; do
		for method in frequency reconstruction; do
			timed "prune-$m-$method" prune --ckpt "$out/$m" --data "$out/task_train.txt" --keep 4 --method "$method" \
				--out "$out/prune-$m-$method" "${force[@]}"
			printf "| %s pruned by %s | 4 | %.4f | %.4f |\n" "$m" "$method" "$(loss --ckpt "$out/prune-$m-$method" --data "$test")" \
				"$(loss --ckpt "$out/prune-$m-$method" --data "$general")"
		done
	done
} >"$out/prune.md"
echo
cat "$out/finetune.md"
echo
cat "$out/prune.md"

}

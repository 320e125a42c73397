#!/usr/bin/env bash
# The upcycling experiment of docs/upcycling.md, on a real corpus: train the `dense` preset for S steps;
# upcycle it into the `tiny` MoE shape three ways (copy; granular with G = 2; drop) and continue each for S2
# steps; continue the dense model itself for S2 steps (pretrain --init-from: the same fresh optimizer and
# schedule the upcycled runs get); train the `tiny` MoE from scratch for S + S2 steps, so it sees as many
# tokens as a dense run plus its continuation. Then evaluate every run on the whole validation split, print
# one Markdown table, and draw the loss curves against tokens seen (moetrain plot --compare).
#
# Usage (from anywhere, after `make build`):
#   tools/upcycle_experiment.sh [--steps S] [--steps2 S2] [--out DIR] [--data PATH] [--eval-every N] [--force]
#     --steps S        dense pre-training steps (default 1000)
#     --steps2 S2      continuation steps of every upcycled run and of the dense run (default 500)
#     --out DIR        where the runs, their logs, the table and the charts go (default runs/upcycle-experiment)
#     --data PATH      the corpus (default: OUT/corpus.txt, 1.2 MB of the Go toolchain's source, written by
#                      tools/go_corpus.sh; any text file works, e.g. Tiny Shakespeare)
#     --eval-every N   validation every N steps during training (default 100; a run shorter than N evaluates
#                      at its last step)
#     --force          start over in an --out that holds runs (each command deletes its run's checkpoints
#                      and metrics first)
#   tools/upcycle_experiment.sh --steps 4 --steps2 4 --out /tmp/upx     # a smoke test of the whole pipeline
#
# Every run takes 1024 tokens a step (8 sequences of 128 bytes), the same seed, data order and peak learning
# rate (the presets' 3e-3, 10% warmup, cosine to a tenth). The defaults took about 5 minutes on 2 idle cores (2026-12-02).
# Output in DIR: one directory per run, NAME.log (the command's own output), results.md (the table),
# compare.png (validation loss of every run against tokens seen) and compare-late.png (the same from where
# the dense pre-training ended, where the continuations differ). MOETRAIN names another binary.
set -euo pipefail
# The whole script is one braced block, read before it runs: editing the file during a run cannot change it.
{

cd "$(dirname "$0")/.."
MOETRAIN=${MOETRAIN:-bin/moetrain}

steps=1000 steps2=500 out=runs/upcycle-experiment data= eval_every=100 force=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	--steps) steps=$2; shift 2 ;;
	--steps2) steps2=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--data) data=$2; shift 2 ;;
	--eval-every) eval_every=$2; shift 2 ;;
	--force) force=(--force); shift ;;
	-h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) echo "upcycle_experiment: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

die() { echo "upcycle_experiment: $*" >&2; exit 1; }
for v in steps steps2 eval_every; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "--${v/_/-} ${!v}: want a positive whole number of steps"
done
[[ -x $MOETRAIN ]] || die "$MOETRAIN not found; run \`make build\` first (or set MOETRAIN)"
"$MOETRAIN" upcycle --help >/dev/null 2>&1 || die "$MOETRAIN has no upcycle command; rebuild it (make build)"
if [[ -e $out && ${#force[@]} -eq 0 && -n $(ls -A "$out") ]]; then
	die "$out already holds files; pass --force to start over in it, or another --out"
fi
mkdir -p "$out"
if [[ -z $data ]]; then
	data=$out/corpus.txt
	tools/go_corpus.sh "$data"
fi
[[ -r $data ]] || die "--data $data: no such readable file; give the corpus to train on"
data=$(realpath "$data")

# settings N: the training keys of a run of N steps: 10% warmup, evaluations every --eval-every steps (or at
# the end of a shorter run), one checkpoint at the end.
settings() {
	local n=$1
	echo --set train.steps="$n" --set train.warmup_steps=$((n / 10 > 0 ? n / 10 : 1)) \
		--set train.eval_every=$((eval_every < n ? eval_every : n)) --set train.checkpoint_every="$n"
}

declare -A wall parent how
order=()
# run NAME PARENT HOW ARGS...: runs moetrain ARGS with its output in OUT/NAME.log, and records the wall time.
run() {
	local name=$1 par=$2 desc=$3
	shift 3
	echo "\$ moetrain $*" | sed "s#$out/#OUT/#g; s#$data#DATA#g"
	local t0 t1
	t0=$(date +%s.%N)
	if ! "$MOETRAIN" "$@" >"$out/$name.log" 2>&1; then
		tail -n 20 "$out/$name.log" >&2
		die "$name failed; its output is in $out/$name.log"
	fi
	t1=$(date +%s.%N)
	wall[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	parent[$name]=$par how[$name]=$desc
	order+=("$name")
	echo "  ${wall[$name]} s: $(grep -E '^done:' "$out/$name.log" | tail -n 1)"
}

total=$((steps + steps2))
# shellcheck disable=SC2046 # settings prints words meant to split
{
	run dense "" "dense preset, $steps steps" \
		pretrain --config dense --data "$data" --out "$out/dense" "${force[@]}" $(settings "$steps")
	run copy dense "upcycled: copy, E=8 K=2" \
		upcycle --from "$out/dense" --config tiny --data "$data" --out "$out/copy" "${force[@]}" \
		--set upcycle.method=copy $(settings "$steps2")
	run granular dense "upcycled: granular G=2, E=16 K=4 F=128" \
		upcycle --from "$out/dense" --config tiny --data "$data" --out "$out/granular" "${force[@]}" \
		--set upcycle.method=granular --set upcycle.granularity=2 --set moe.num_experts=16 --set moe.top_k=4 \
		--set moe.expert_ffn_hidden_size=128 $(settings "$steps2")
	run drop dense "upcycled: drop 0.5, E=8 K=2" \
		upcycle --from "$out/dense" --config tiny --data "$data" --out "$out/drop" "${force[@]}" \
		--set upcycle.method=drop --set upcycle.drop_ratio=0.5 $(settings "$steps2")
	run dense-cont dense "dense, continued" \
		pretrain --config dense --init-from "$out/dense" --data "$data" --out "$out/dense-cont" "${force[@]}" \
		$(settings "$steps2")
	run scratch "" "tiny MoE from scratch, E=8 K=2, $total steps" \
		pretrain --config tiny --data "$data" --out "$out/scratch" "${force[@]}" $(settings "$total")
}

# field NAME KEY: KEY of the last record of NAME's metrics.jsonl (json.Marshal writes "key":value).
field() {
	grep -o "\"$2\":[^,}]*" "$out/$1/metrics.jsonl" | tail -n 1 | cut -d: -f2
}

table=$out/results.md
{
	echo "| run | how it started | steps | tokens seen | val loss | tokens/s | wall s | wall s incl. parent |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|"
	for name in "${order[@]}"; do
		json=$("$MOETRAIN" eval --ckpt "$out/$name" --json) || die "eval of $name failed"
		val=$(grep -o '"loss":[^,}]*' <<<"$json" | cut -d: -f2)
		tokens=$(field "$name" tokens) elapsed=$(field "$name" elapsed_s) done=$(field "$name" step)
		par=${parent[$name]} seen=$tokens total_wall=${wall[$name]}
		if [[ -n $par ]]; then
			seen=$((tokens + $(field "$par" tokens)))
			total_wall=$(awk -v a="${wall[$name]}" -v b="${wall[$par]}" 'BEGIN { printf "%.1f", a + b }')
		fi
		awk -v n="$name" -v h="${how[$name]}" -v s="$done" -v seen="$seen" -v v="$val" -v t="$tokens" -v e="$elapsed" \
			-v w="${wall[$name]}" -v tw="$total_wall" \
			'BEGIN { printf "| %s | %s | %d | %d | %.4f | %.0f | %s | %s |\n", n, h, s, seen, v, (e > 0 ? t / e : 0), w, tw }'
	done
} >"$table"
echo
echo "val loss: moetrain eval on the whole validation split of $(basename "$data"); tokens/s: the run's training"
echo "tokens over its training time (metrics.jsonl elapsed_s); wall s: the command, loading and converting included."
echo
cat "$table"
echo

runs=() offsets=()
for name in "${order[@]}"; do
	runs+=("$out/$name")
	if [[ -n ${parent[$name]} ]]; then
		offsets+=("$out/${parent[$name]}") # a continued run starts where its parent ended
	else
		offsets+=(0)
	fi
done
joined=$(IFS=,; echo "${offsets[*]}")
labels=$(IFS=,; echo "${order[*]}")
"$MOETRAIN" plot --compare "${runs[@]}" --labels "$labels" --offset-tokens "$joined" --out "$out/compare.png"
"$MOETRAIN" plot --compare "${runs[@]}" --labels "$labels" --offset-tokens "$joined" --min-tokens "$out/dense" \
	--out "$out/compare-late.png"
echo "table: $table"

}

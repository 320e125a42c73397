#!/usr/bin/env bash
# The hostile-input probe: builds stranger's files and careless flags from good ones and checks that every case
# ends the way it must: exit 1 with a message naming the file or key (or, for the cases that must succeed, exit 0),
# under a memory limit (ulimit -v) and a time limit, and that nothing of the user's is overwritten.
#
# Usage: tools/hostile.sh [MOETRAIN]     (default bin/moetrain; `make hostile` builds it first)
# Environment: HOSTILE_MEM_KB (default 4194304: 4 GiB of address space), HOSTILE_TIMEOUT (seconds, default 60).
set -uo pipefail
cd "$(dirname "$0")/.."
MT=$(realpath "${1:-bin/moetrain}")
[[ -x $MT ]] || { echo "hostile: $MT not found; run make build" >&2; exit 2; }
MEM=${HOSTILE_MEM_KB:-4194304} LIMIT=${HOSTILE_TIMEOUT:-60}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fails=0 n=0

# limited ARGS...: moetrain ARGS under the memory and time limits; stdout+stderr in $W/out, exit code in $rc.
limited() {
	(ulimit -v "$MEM"; exec timeout -k 5 "$LIMIT" "$MT" "$@") >"$W/out" 2>&1
	rc=$?
}
# expect NAME CODE PATTERN ARGS...: the case passes when moetrain exits with CODE and its output matches PATTERN.
expect() {
	local name=$1 code=$2 pat=$3
	shift 3
	n=$((n + 1))
	limited "$@"
	if [[ $rc -eq $code ]] && grep -Eq -- "$pat" "$W/out"; then
		printf 'ok    %-44s exit %d  %s\n' "$name" "$rc" "$(grep -m1 -E -- "$pat" "$W/out" | cut -c1-150)"
	else
		fails=$((fails + 1))
		printf 'FAIL  %-44s exit %d (want %d and /%s/)\n' "$name" "$rc" "$code" "$pat"
		tail -n 5 "$W/out" | sed 's/^/      /'
	fi
}
py() { python3 - "$@"; }

# Good files to start from: a tiny trained run, its HF export, a prepared shard directory.
small=(--set model.d_model=32 --set model.n_layers=2 --set model.n_heads=2 --set model.n_kv_heads=1
	--set moe.num_experts=4 --set moe.expert_ffn_hidden_size=32 --set model.max_seq_len=32 --set train.seq_len=32
	--set train.micro_batch_size=4 --set train.steps=4 --set train.warmup_steps=1 --set train.eval_every=4
	--set train.log_every=2 --set train.checkpoint_every=4)
"$MT" pretrain --config tiny --out "$W/run" "${small[@]}" >/dev/null 2>&1 || { echo "hostile: the good run failed" >&2; exit 2; }
"$MT" export --ckpt "$W/run" --out "$W/hf" >/dev/null 2>&1 || { echo "hostile: export failed" >&2; exit 2; }
tools/go_corpus.sh "$W/corpus.txt" --bytes 200000 >/dev/null || { echo "hostile: tools/go_corpus.sh failed" >&2; exit 2; }
"$MT" data prepare --input "$W/corpus.txt" --out "$W/shards" >/dev/null 2>&1 || { echo "hostile: data prepare failed" >&2; exit 2; }
step=$(ls -d "$W"/run/checkpoints/step-* | tail -n 1)

# Checkpoints and HF directories.
cp -r "$W/run" "$W/trunc"
f=$(ls "$W"/trunc/checkpoints/step-*/model-rank-*.safetensors | tail -n 1)
head -c 1000 "$f" >"$f.tmp" && mv "$f.tmp" "$f"
expect "truncated checkpoint" 1 "model-rank-00000.safetensors" eval --ckpt "$W/trunc"
# Sharded manifests that lie: pieces that overlap, and a tensor claiming 2^40 elements.
for lie in overlap huge; do
	cp -r "$W/run" "$W/$lie"
	py "$(ls -d "$W/$lie"/checkpoints/step-* | tail -n 1)/manifest.json" "$lie" <<'P'
import json, sys
p, lie = sys.argv[1], sys.argv[2]; m = json.load(open(p))
t = m["tensors"]["embed_tokens.weight"]
if lie == "overlap":
    t["pieces"].append(dict(t["pieces"][0], file="model-rank-00001.safetensors"))
    m["files"]["model-rank-00001.safetensors"] = m["files"]["model-rank-00000.safetensors"]
else:
    t["shape"] = [1 << 20, 1 << 20]
json.dump(m, open(p, "w"))
P
done
expect "sharded manifest: overlapping pieces" 1 "manifest.json.*overlaps" eval --ckpt "$W/overlap"
expect "sharded manifest: 2^40-element tensor" 1 "manifest.json.*claim" eval --ckpt "$W/huge"
cp -r "$W/hf" "$W/hfbig"
py "$W/hfbig/config.json" <<'P'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["hidden_size"] = 65536; c["num_attention_heads"] = 65536 // c.get("head_dim", 16); c["head_dim"] = 16
c["num_key_value_heads"] = c["num_attention_heads"]; json.dump(c, open(p, "w"))
P
expect "HF config claiming hidden_size 65536" 1 "model.safetensors|shape|hidden_size" import --in "$W/hfbig" --out "$W/imp1"
cp -r "$W/hf" "$W/hfnan"
py "$W/hfnan/model.safetensors" <<'P'
import json, struct, sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n]); k = sorted(x for x in h if x != "__metadata__")[0]
o = 8 + n + h[k]["data_offsets"][0]; b[o:o + 4] = struct.pack("<f", float("nan")); open(p, "wb").write(b)
P
expect "HF weights holding NaN" 1 "NaN|non-finite|finite" import --in "$W/hfnan" --out "$W/imp2"
before=$(sha256sum "$step/model.safetensors")
expect "export --out into the checkpoint" 1 "refus|already|--force|overwrite" export --ckpt "$W/run" --out "$step"
n=$((n + 1))
if [[ $(sha256sum "$step/model.safetensors") != "$before" ]]; then
	fails=$((fails + 1)); echo "FAIL  export overwrote the checkpoint's model.safetensors"
else
	echo "ok    the checkpoint's model.safetensors is unchanged"
fi

# Configuration and flags.
py >"$W/bomb.yaml" <<'P'
# ten-fold aliases nested eight deep under one valid key: 10^9 elements once expanded
items = ["&a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"] + [f"&a{i} [" + ", ".join([f"*a{i-1}"] * 10) + "]" for i in range(1, 9)]
print("moe:\n  layer_freq: [" + ", ".join(items) + "]")
P
expect "YAML alias bomb under a valid key" 1 "bomb.yaml.*(alias|expand|layer_freq)|layer_freq.*bomb.yaml" config show --config "$W/bomb.yaml"
printf 'train:\n  lr: 0.001\n---\ntrain:\n  lr: 5\n' >"$W/multi.yaml"
expect "multi-document YAML" 1 "multi.yaml|document" config show --config "$W/multi.yaml"
expect "model.d_model=1e9" 1 "model.d_model" pretrain --config tiny --out "$W/x1" --set model.d_model=1000000000
expect "model.n_layers=1e8" 1 "model.n_layers" pretrain --config tiny --out "$W/x2" --set model.n_layers=100000000
expect "train.micro_batch_size=1e9" 1 "micro_batch_size" pretrain --config tiny --out "$W/x3" --set train.micro_batch_size=1000000000
expect "model.vocab_size=2e9" 1 "vocab_size" pretrain --config tiny --out "$W/x4" --set model.vocab_size=2000000000

# Data.
expect "--data /dev/zero" 1 "/dev/zero" pretrain --config tiny --out "$W/x5" --data /dev/zero
shard=$(ls "$W"/shards/*.arrow | head -n 1)
cp "$shard" "$W/damaged.arrow"
py "$W/damaged.arrow" <<'P'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
for i in range(len(b) - 40, len(b) - 10): b[i] ^= 0x5A
open(p, "wb").write(b)
P
expect "Arrow IPC file with a damaged footer" 1 "damaged.arrow" pretrain --config tiny --out "$W/x6" --data "$W/damaged.arrow" "${small[@]}"
cp -r "$W/shards" "$W/claims"
py "$W/claims/manifest.json" <<'P'
import json, sys
p = sys.argv[1]; m = json.load(open(p))
def bump(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if "token" in k and isinstance(v, int): o[k] = 1 << 62
            else: bump(v)
    elif isinstance(o, list):
        for v in o: bump(v)
bump(m); json.dump(m, open(p, "w"))
P
expect "shard manifest claiming 2^62 tokens" 1 "manifest|claims|tokens" pretrain --config tiny --out "$W/x7" --data "$W/claims" "${small[@]}"
"$MT" data prepare --input "$W/corpus.txt" --tokenizer bpe:300 --out "$W/bpe" >/dev/null 2>&1 || { echo "hostile: data prepare bpe failed" >&2; exit 2; }
py "$W/bpe/tokenizer.json" "$W/tok.json" <<'P'
import json, sys
t = json.load(open(sys.argv[1])); v = t["model"]["vocab"]; k = max(v, key=v.get); v[k] = 2147483000
json.dump(t, open(sys.argv[2], "w"))
P
expect "tokenizer.json with an id near 2^31" 1 "tok.json.*(beyond|2147483000)" pretrain --config tiny --out "$W/x8" --set data.tokenizer="$W/tok.json" "${small[@]}"
printf '\xef\xbb\xbf{"prompt": "1+1=", "completion": "2"}\n{"prompt": "2+2=", "completion": "4"}\n' >"$W/bom.jsonl"
expect "JSONL with a byte-order mark (accepted)" 0 "loss" eval --ckpt "$W/run" --data "$W/bom.jsonl"

# Runs.
cp -r "$W/run" "$W/torn"
printf '{"step": 5, "loss": 1.2' >>"$W/torn/metrics.jsonl"
expect "torn metrics.jsonl line, then --resume (accepted)" 0 "done" pretrain --config tiny --out "$W/torn" --resume "${small[@]}" --set train.steps=6

echo "hostile: $((n - fails)) of $n cases as expected"
[[ $fails -eq 0 ]]

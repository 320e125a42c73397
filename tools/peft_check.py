#!/usr/bin/env python3
"""Independent check of a PEFT LoRA adapter: the mean next-token loss of a HuggingFace Llama or Mixtral
model with the adapter applied, computed in PyTorch from the files alone.

It reads
  --model DIR    a HuggingFace model directory as `moetrain export --ckpt X --format hf --out DIR` writes
                 it (config.json and *.safetensors, Llama or Mixtral layout);
  --adapter DIR  a PEFT LoRA adapter directory (adapter_config.json, adapter_model.safetensors), as
                 `checkpoint.SaveAdapter` or PEFT's save_pretrained writes it; without it the base model
                 alone is evaluated;
  --text FILE    UTF-8 text, one token per byte (moetrain's byte tokenizer), or
  --tokens FILE  token ids: a JSON array, or integers separated by white space;
adds s·B·A to every adapted weight W [out, in] (A [r, in], B [out, r]; s = lora_alpha/r, or
lora_alpha/sqrt(r) with use_rslora), runs the Llama/Mixtral forward in float64 (RMSNorm, RoPE in the
rotate_half convention, grouped-query causal attention, SwiGLU MLPs, Mixtral's softmax top-k router with
renormalised weights) and prints one JSON line:
    {"loss": 4.1589, "tokens": 511, "adapted_modules": 68}
loss is the mean next-token cross-entropy in nats over windows of --seq-len + 1 tokens starting every
--seq-len tokens (tokens 0..T-1 predict 1..T, then T..2T-1 predict T+1..2T, ...); a tail too short for a
window is one shorter window, so every token after the first is predicted once, as `moetrain eval` does.

Needs PyTorch only (Debian: apt-get install python3-torch); no transformers, no peft, no safetensors
package. Run from anywhere:
    python3 tools/peft_check.py --model runs/x/hf --adapter runs/x/adapter --text held_out.txt --seq-len 64
Exit status 2 with a message on stderr for a file it cannot use.
"""
import argparse
import json
import math
import os
import struct
import sys

import torch

DT = torch.float64
PREFIX = "base_model.model."
DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


class CheckError(Exception):
    """A file this check cannot use; the message names it."""


def read_safetensors(path):
    """Returns {name: float64 tensor} of a safetensors file, checking its header against its size."""
    with open(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 8:
        raise CheckError(f"{path}: {len(raw)} bytes, too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise CheckError(f"{path}: header length {n} runs past the file's {len(raw)} bytes")
    header = json.loads(raw[8:8 + n])
    data = memoryview(raw)[8 + n:]
    out = {}
    for name, rec in header.items():
        if name == "__metadata__":
            continue
        if rec["dtype"] not in DTYPES:
            raise CheckError(f"{path}: tensor {name}: dtype {rec['dtype']} is not a float type")
        begin, end = rec["data_offsets"]
        if not 0 <= begin <= end <= len(data):
            raise CheckError(f"{path}: tensor {name}: data_offsets {rec['data_offsets']} outside the data")
        buf = bytearray(data[begin:end])
        t = torch.frombuffer(buf, dtype=DTYPES[rec["dtype"]]) if buf else torch.empty(0, dtype=DTYPES[rec["dtype"]])
        if t.numel() != math.prod(rec["shape"]):
            raise CheckError(f"{path}: tensor {name}: shape {rec['shape']} does not match {end - begin} bytes")
        out[name] = t.reshape(rec["shape"]).to(DT)
    return out


def read_model(model_dir):
    """Returns config.json and every weight of the model directory."""
    with open(os.path.join(model_dir, "config.json")) as fh:
        cfg = json.load(fh)
    if cfg.get("model_type") not in ("llama", "mixtral"):
        raise CheckError(f"{model_dir}/config.json: model_type {cfg.get('model_type')!r}: this check runs llama and mixtral")
    weights = {}
    files = sorted(f for f in os.listdir(model_dir) if f.endswith(".safetensors"))
    if not files:
        raise CheckError(f"{model_dir}: no *.safetensors file")
    for f in files:
        weights.update(read_safetensors(os.path.join(model_dir, f)))
    return cfg, weights


def apply_adapter(adapter_dir, weights):
    """Adds s·B·A to every weight the PEFT adapter adapts, from its files alone; returns the module count."""
    path = os.path.join(adapter_dir, "adapter_config.json")
    with open(path) as fh:
        ac = json.load(fh)
    if ac.get("peft_type") != "LORA":
        raise CheckError(f"{path}: peft_type {ac.get('peft_type')!r}, want 'LORA'")
    if ac.get("bias", "none") != "none" or ac.get("fan_in_fan_out") or ac.get("use_dora"):
        raise CheckError(f"{path}: bias, fan_in_fan_out or use_dora set: plain LoRA only")
    r, alpha = ac["r"], ac["lora_alpha"]
    scale = alpha / math.sqrt(r) if ac.get("use_rslora") else alpha / r
    targets = ac.get("target_modules")
    tensors = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    pairs = {}
    for key, t in tensors.items():
        for side in ("lora_A", "lora_B"):
            suffix = f".{side}.weight"
            if key.startswith(PREFIX) and key.endswith(suffix):
                pairs.setdefault(key[len(PREFIX):-len(suffix)], {})[side] = t
                break
        else:
            raise CheckError(f"adapter key {key}: not {PREFIX}<module>.lora_A.weight / .lora_B.weight")
    for module, p in sorted(pairs.items()):
        if set(p) != {"lora_A", "lora_B"}:
            raise CheckError(f"adapter module {module}: has {sorted(p)}, needs lora_A and lora_B")
        if isinstance(targets, list) and not any(module == m or module.endswith("." + m) for m in targets):
            raise CheckError(f"adapter module {module}: not in target_modules {targets}")
        name = module + ".weight"
        if name not in weights:
            raise CheckError(f"adapter module {module}: the model has no weight {name}")
        w, a, b = weights[name], p["lora_A"], p["lora_B"]
        if a.shape != (r, w.shape[1]) or b.shape != (w.shape[0], r):
            raise CheckError(f"adapter module {module}: A {list(a.shape)} B {list(b.shape)} do not fit W {list(w.shape)} at r = {r}")
        weights[name] = w + scale * (b @ a)
    return len(pairs)


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def swiglu(x, gate, up, down):
    return (torch.nn.functional.silu(x @ gate.T) * (x @ up.T)) @ down.T


def forward(cfg, W, ids):
    """Logits [B, T, V] of token ids [B, T]."""
    d, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads") or heads
    dh = cfg.get("head_dim") or d // heads
    eps, theta = cfg["rms_norm_eps"], cfg.get("rope_theta", 10000.0)
    bsz, t = ids.shape
    inv = 1.0 / (theta ** (torch.arange(0, dh, 2, dtype=DT) / dh))
    freqs = torch.outer(torch.arange(t, dtype=DT), inv)
    emb = torch.cat((freqs, freqs), dim=-1)  # [T, Dh]
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    causal = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
    x = W["model.embed_tokens.weight"][ids]  # [B, T, D]
    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        h = rmsnorm(x, W[p + "input_layernorm.weight"], eps)
        q = (h @ W[p + "self_attn.q_proj.weight"].T).view(bsz, t, heads, dh).transpose(1, 2)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).view(bsz, t, kv, dh).transpose(1, 2)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).view(bsz, t, kv, dh).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(heads // kv, dim=1), v.repeat_interleave(heads // kv, dim=1)
        s = (q @ k.transpose(-1, -2) / math.sqrt(dh)).masked_fill(causal, float("-inf"))
        o = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(bsz, t, heads * dh)
        x = x + o @ W[p + "self_attn.o_proj.weight"].T
        h = rmsnorm(x, W[p + "post_attention_layernorm.weight"], eps)
        if cfg["model_type"] == "mixtral":
            x = x + moe(cfg, W, p + "block_sparse_moe.", h)
        else:
            x = x + swiglu(h, W[p + "mlp.gate_proj.weight"], W[p + "mlp.up_proj.weight"], W[p + "mlp.down_proj.weight"])
    x = rmsnorm(x, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") or "lm_head.weight" not in W else W["lm_head.weight"]
    return x @ head.T


def moe(cfg, W, p, h):
    """Mixtral's sparse MoE block: softmax over the router logits, top k, weights renormalised."""
    e, k = cfg["num_local_experts"], cfg["num_experts_per_tok"]
    probs = torch.softmax(h @ W[p + "gate.weight"].T, dim=-1)  # [B, T, E]
    topw, topi = torch.topk(probs, k, dim=-1)
    topw = topw / topw.sum(-1, keepdim=True)
    y = torch.zeros_like(h)
    for i in range(e):
        wi = (topw * (topi == i)).sum(-1, keepdim=True)  # [B, T, 1]: expert i's weight per token
        ex = f"{p}experts.{i}."
        y = y + wi * swiglu(h, W[ex + "w1.weight"], W[ex + "w3.weight"], W[ex + "w2.weight"])
    return y


def windows(tokens, t):
    """(inputs, targets) pairs of the evaluation windows, as moetrain's EvalTokens cuts them."""
    out, start = [], 0
    while start + t + 1 <= len(tokens):
        out.append((tokens[start:start + t], tokens[start + 1:start + t + 1]))
        start += t
    if len(tokens) - start >= 2:
        out.append((tokens[start:-1], tokens[start + 1:]))
    return out


def read_tokens(args):
    if args.text:
        with open(args.text, "rb") as fh:
            return list(fh.read())
    with open(args.tokens) as fh:
        raw = fh.read()
    ids = json.loads(raw) if raw.lstrip().startswith("[") else [int(s) for s in raw.split()]
    if not all(isinstance(i, int) for i in ids):
        raise CheckError(f"{args.tokens}: token ids must be integers")
    return ids


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="HuggingFace model directory (config.json, *.safetensors)")
    ap.add_argument("--adapter", help="PEFT adapter directory; omit for the base model")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="UTF-8 text file, one token per byte")
    src.add_argument("--tokens", help="token ids: a JSON array or white-space separated integers")
    ap.add_argument("--seq-len", type=int, default=64, help="tokens per window (default 64)")
    ap.add_argument("--max-tokens", type=int, default=0, help="use only the first N tokens (0: all)")
    ap.add_argument("--batch", type=int, default=8, help="windows per forward pass (default 8)")
    args = ap.parse_args()
    if args.seq_len < 1 or args.batch < 1 or args.max_tokens < 0:
        ap.error("--seq-len and --batch must be >= 1, --max-tokens >= 0")
    try:
        cfg, weights = read_model(args.model)
        adapted = apply_adapter(args.adapter, weights) if args.adapter else 0
        tokens = read_tokens(args)
        if args.max_tokens:
            tokens = tokens[:args.max_tokens]
        vocab = cfg["vocab_size"]
        if any(not 0 <= i < vocab for i in tokens):
            raise CheckError(f"token ids outside [0, {vocab}) for this model's vocab_size")
    except (CheckError, OSError, KeyError, ValueError) as e:
        print(f"peft_check: {e}", file=sys.stderr)
        sys.exit(2)
    total, count = 0.0, 0
    ws = windows(tokens, args.seq_len)
    with torch.no_grad():
        for i in range(0, len(ws), args.batch):
            group = ws[i:i + args.batch]
            for length in sorted({len(x) for x, _ in group}):  # the short tail runs alone
                xs = [w for w in group if len(w[0]) == length]
                ids = torch.tensor([x for x, _ in xs], dtype=torch.long)
                tgt = torch.tensor([y for _, y in xs], dtype=torch.long)
                logits = forward(cfg, weights, ids)
                total += torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), reduction="sum").item()
                count += tgt.numel()
    if count == 0:
        print("peft_check: no tokens to predict (need at least 2)", file=sys.stderr)
        sys.exit(2)
    print(json.dumps({"loss": total / count, "tokens": count, "adapted_modules": adapted}))


if __name__ == "__main__":
    main()

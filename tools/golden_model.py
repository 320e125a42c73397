#!/usr/bin/env python3
"""Golden reference for moetrain's model: builds the same tiny hybrid transformer in PyTorch
(2 layers: layer 0 dense SwiGLU, layer 1 MoE with top-k softmax routing; GQA; RoPE in HF's
rotate_half convention), runs forward and backward in float64, and writes weights, tokens,
logits, losses and every parameter gradient to testdata/golden_tiny.safetensors.

Needs PyTorch (Debian: apt-get install python3-torch). Run from the repository root:
    python3 tools/golden_model.py
The Go test layers/golden_test.go loads the file and compares.
"""
import json
import math
import struct

import torch

torch.manual_seed(1234)
DT = torch.float64

V, D, L, H, HKV, F_DENSE = 37, 16, 2, 4, 2, 24
E, K, F_EXP = 4, 2, 12
B, T = 2, 7
THETA, EPS = 10000.0, 1e-5
AUX, ZC = 1e-2, 1e-3
DH = D // H


def param(*shape, std=0.2):
    return (torch.randn(*shape, dtype=DT) * std).requires_grad_()


P = {"embed_tokens.weight": param(V, D), "norm.weight": (1 + param(D, std=0.1)).detach().requires_grad_(),
     "lm_head.weight": param(V, D)}
for i in range(L):
    p = f"layers.{i}."
    P[p + "input_layernorm.weight"] = (1 + param(D, std=0.1)).detach().requires_grad_()
    P[p + "post_attention_layernorm.weight"] = (1 + param(D, std=0.1)).detach().requires_grad_()
    P[p + "self_attn.q_proj.weight"] = param(H * DH, D)
    P[p + "self_attn.k_proj.weight"] = param(HKV * DH, D)
    P[p + "self_attn.v_proj.weight"] = param(HKV * DH, D)
    P[p + "self_attn.o_proj.weight"] = param(D, H * DH)
P["layers.0.mlp.w1.weight"] = param(F_DENSE, D)
P["layers.0.mlp.w3.weight"] = param(F_DENSE, D)
P["layers.0.mlp.w2.weight"] = param(D, F_DENSE)
P["layers.1.moe.gate.weight"] = param(E, D, std=0.5)
P["layers.1.moe.experts.w1"] = param(E, F_EXP, D)
P["layers.1.moe.experts.w3"] = param(E, F_EXP, D)
P["layers.1.moe.experts.w2"] = param(E, D, F_EXP)

tokens = torch.randint(0, V, (B, T))
targets = torch.randint(0, V, (B, T))
targets[0, 3] = -100  # an ignored target


def rmsnorm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope(x):  # x [B, T, h, Dh]
    inv = 1.0 / (THETA ** (torch.arange(0, DH, 2, dtype=DT) / DH))
    freqs = torch.outer(torch.arange(x.shape[1], dtype=DT), inv)
    emb = torch.cat((freqs, freqs), dim=-1)  # [T, Dh]
    cos, sin = emb.cos()[None, :, None, :], emb.sin()[None, :, None, :]
    return x * cos + rotate_half(x) * sin


def attention(x, p):
    q = (x @ P[p + "q_proj.weight"].T).view(B, T, H, DH)
    k = (x @ P[p + "k_proj.weight"].T).view(B, T, HKV, DH)
    v = (x @ P[p + "v_proj.weight"].T).view(B, T, HKV, DH)
    q, k = rope(q), rope(k)
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [B, h, T, Dh]
    k = k.repeat_interleave(H // HKV, dim=1)
    v = v.repeat_interleave(H // HKV, dim=1)
    s = q @ k.transpose(-1, -2) / math.sqrt(DH)
    s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
    o = torch.softmax(s, -1) @ v  # [B, H, T, Dh]
    return o.transpose(1, 2).reshape(B * T, H * DH) @ P[p + "o_proj.weight"].T


def swiglu(x, w1, w3, w2):
    return (torch.nn.functional.silu(x @ w1.T) * (x @ w3.T)) @ w2.T


def moe(x, p):
    logits = x @ P[p + "gate.weight"].T  # [N, E]
    probs = torch.softmax(logits, -1)
    topw, topi = torch.topk(probs, K, dim=-1)
    topw = topw / topw.sum(-1, keepdim=True)
    y = torch.zeros_like(x)
    for e in range(E):
        w = (topw * (topi == e)).sum(-1, keepdim=True)  # [N, 1] weight of expert e per token
        y = y + w * swiglu(x, P[p + "experts.w1"][e], P[p + "experts.w3"][e], P[p + "experts.w2"][e])
    n = x.shape[0]
    f = torch.stack([(topi == e).sum() for e in range(E)]).to(DT) / (n * K)
    aux = AUX * E * (f * probs.mean(0)).sum()
    z = ZC * torch.logsumexp(logits, -1).pow(2).mean()
    return y, aux, z


x = P["embed_tokens.weight"][tokens.reshape(-1)]
aux_total, z_total = 0, 0
for i in range(L):
    p = f"layers.{i}."
    h = x + attention(rmsnorm(x, P[p + "input_layernorm.weight"]), p + "self_attn.")
    z_in = rmsnorm(h, P[p + "post_attention_layernorm.weight"])
    if i == 0:
        x = h + swiglu(z_in, P[p + "mlp.w1.weight"], P[p + "mlp.w3.weight"], P[p + "mlp.w2.weight"])
    else:
        y, aux, z = moe(z_in, p + "moe.")
        x = h + y
        aux_total, z_total = aux_total + aux, z_total + z
logits = rmsnorm(x, P["norm.weight"]) @ P["lm_head.weight"].T
lm = torch.nn.functional.cross_entropy(logits, targets.reshape(-1), ignore_index=-100)
loss = lm + aux_total + z_total
loss.backward()

out = {name: t.detach() for name, t in P.items()}
out.update({"grad." + name: t.grad for name, t in P.items()})
out["tokens"] = tokens.to(DT)
out["targets"] = targets.to(DT)
out["logits"] = logits.detach()
out["loss"] = loss.detach().reshape(1)
out["lm_loss"] = lm.detach().reshape(1)
out["aux_loss"] = aux_total.detach().reshape(1)
out["z_loss"] = z_total.detach().reshape(1)

meta = {"V": V, "D": D, "L": L, "H": H, "HKV": HKV, "F_DENSE": F_DENSE, "E": E, "K": K, "F_EXP": F_EXP,
        "B": B, "T": T, "THETA": THETA, "EPS": EPS, "AUX": AUX, "ZC": ZC, "torch": torch.__version__}

# safetensors: u64 header length, JSON header, raw little-endian data.
header, blobs, off = {"__metadata__": {k: str(v) for k, v in meta.items()}}, [], 0
for name in sorted(out):
    data = out[name].contiguous().numpy().astype("<f8").tobytes()
    header[name] = {"dtype": "F64", "shape": list(out[name].shape), "data_offsets": [off, off + len(data)]}
    blobs.append(data)
    off += len(data)
hjson = json.dumps(header, separators=(",", ":")).encode()
hjson += b" " * ((8 - len(hjson) % 8) % 8)
with open("testdata/golden_tiny.safetensors", "wb") as fh:
    fh.write(struct.pack("<Q", len(hjson)))
    fh.write(hjson)
    for blob in blobs:
        fh.write(blob)
print(f"loss {loss.item():.6f} lm {lm.item():.6f} aux {aux_total.item():.6f} z {z_total.item():.6f}")

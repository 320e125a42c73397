#!/usr/bin/env python3
"""PyTorch CPU training-step benchmark of moetrain's model, for comparison with `moetrain bench`.

It resolves a moetrain configuration with `bin/moetrain config show`, builds the same model in PyTorch
(byte vocabulary; embedding; per layer x + Attn(RMSNorm(x)) with RoPE in HF's rotate_half convention,
causal GQA attention and no biases, then h + FFN(RMSNorm(h)) with a SwiGLU MLP on dense layers and a
top-k routed MoE on MoE layers; final RMSNorm; LM head; cross-entropy plus the router's load-balancing
and z-losses), times full training steps (forward, backward, gradient clipping, AdamW) on random tokens
after warm-up steps, and reports the figures `moetrain bench --json` reports, with the same FLOPs count:

    model FLOPs per token = 6 x active matmul parameters + 12 x n_layers x seq_len x d_model

where the active matmul parameters are the attention projections q, k, v, o, the dense MLP or the K
routed experts' w1, w2, w3 plus the shared experts and the router gate on MoE layers, and the LM head.
gemm_util is the model GFLOP/s as a share of a float32 GEMM peak measured here (torch.mm of 1024 x 1024 matrices for about 0.5 s on
the same thread count); peak RSS is getrusage's ru_maxrss.

How the PyTorch side is made fast (what a competent PyTorch implementation does on a CPU):
  * q, k, v are one fused projection and each SwiGLU's w1, w3 one fused [2F, D] projection: the same
    parameters stored side by side, one GEMM instead of three or two.
  * GQA attention without copying keys and values per query head: the G = H / Hkv query heads that
    share a key/value head are stacked along the row axis, so one batched GEMM per kv head computes
    their scores; scale and causal mask are fused into that GEMM (baddbmm); softmax; one batched GEMM
    with the values. PyTorch 1.13 has no F.scaled_dot_product_attention (it arrived in 2.0).
  * The MoE layer sorts the token-expert slots by expert, gathers each expert's tokens with
    index_select, runs each expert's GEMMs on exactly its tokens and scatters the weighted outputs
    back with index_add_: no dense all-expert compute. Experts are separate modules (as in HF
    Mixtral), so backward allocates no full-size expert gradients per expert.
  * AdamW with foreach=True (the multi-tensor path; PyTorch 1.13 has a fused AdamW only for CUDA).

Threads and BLAS. torch.set_num_threads(--threads), with OMP_NUM_THREADS and ATEN_CPU_CAPABILITY=avx512
set before torch is imported. Debian's torch calls the system OpenBLAS for GEMMs, and Debian's default
build (libopenblas0-pthread) runs its own pthread pool beside torch's OpenMP pool: on 2 cores the two
fight (with spinning OpenMP threads a tiny step was 4x slower). The OpenMP build (apt-get install
libopenblas0-openmp) shares torch's OpenMP pool. With --blas auto (the default) this script re-executes
itself with LD_LIBRARY_PATH pointing at /usr/lib/x86_64-linux-gnu/openblas-openmp when that directory
exists; --blas system keeps whatever the loader finds, to measure the difference. The "blas" field
names the library actually loaded.

OMP_WAIT_POLICY is passive unless set in the environment. Spinning (active) OpenMP threads are fastest
on idle cores, but when other processes share the cores a spinning thread waits for its descheduled
partner at every barrier, and a step became 10-30x slower on the shared 2-core machine; sleeping
(passive) threads are steady under load and slower on idle cores (tiny: about 5000 tokens/s passive
against up to 9600 active when the machine was quiet). tools/bench_compare.sh tries both.

Run with Debian's python3-torch from the repository root:
    /usr/bin/python3 tools/bench_torch.py --config tiny --steps 10 --json
tools/bench_compare.sh runs this and `moetrain bench` side by side.
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

OPENMP_BLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
REEXEC_MARK = "BENCH_TORCH_REEXEC"  # not MOETRAIN_*: moetrain rejects unknown MOETRAIN_ variables


def parse_args(argv):
    ap = argparse.ArgumentParser(description="PyTorch CPU training-step benchmark of a moetrain config")
    ap.add_argument("--config", "-c", default="tiny", help="moetrain preset name or YAML file")
    ap.add_argument("--set", action="append", default=[], metavar="K=V", help="override a config key (repeatable)")
    ap.add_argument("--steps", type=int, default=10, help="timed steps")
    ap.add_argument("--warmup", type=int, default=3, help="untimed warm-up steps")
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads (torch and OpenMP)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--bf16", action="store_true",
                    help="bfloat16 autocast for the matmuls (router, softmax, norms, loss in float32)")
    ap.add_argument("--moetrain", default="bin/moetrain", help="moetrain binary that resolves the config")
    ap.add_argument("--blas", choices=["auto", "system"], default="auto",
                    help="auto: use the OpenMP OpenBLAS when installed (re-exec); system: the loader's default")
    ap.add_argument("--seed", type=int, default=None, help="seed (default: train.seed)")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or args.threads < 1:
        ap.error("--steps must be >= 1, --warmup >= 0, --threads >= 1")
    return args


def setup_environment(args):
    """Sets the thread and ISA environment before torch is imported; re-executes the interpreter with
    the OpenMP OpenBLAS on the library path when --blas auto finds it and it is not already there."""
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx512")
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    if args.blas != "auto" or os.environ.get(REEXEC_MARK) or not os.path.isdir(OPENMP_BLAS_DIR):
        return
    paths = [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p]
    if OPENMP_BLAS_DIR in paths:
        return
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = ":".join([OPENMP_BLAS_DIR] + paths)
    env[REEXEC_MARK] = "1"
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


# ---------------------------------------------------------------- configuration

def load_config(args):
    """Returns the resolved configuration as nested dicts, from `moetrain config show`."""
    cmd = [args.moetrain, "config", "show", "--config", args.config]
    for kv in args.set:
        cmd += ["--set", kv]
    try:
        env = {k: val for k, val in os.environ.items() if k not in ("LD_LIBRARY_PATH", REEXEC_MARK)}
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    except FileNotFoundError:
        sys.exit(f"bench_torch: {args.moetrain} not found (build it with `make build`, or pass --moetrain)")
    except subprocess.CalledProcessError as e:
        sys.exit(f"bench_torch: {' '.join(cmd)} failed: {e.stderr.strip()}")
    return parse_simple_yaml(out)


def parse_simple_yaml(text):
    """Parses the subset of YAML that `config show` prints: nested maps by indentation, scalars and
    flow lists of scalars. (PyYAML is not used: it reads YAML 1.1, where 1e-08 is a string.)"""
    def scalar(s):
        s = s.strip()
        if s.startswith("[") and s.endswith("]"):
            return [scalar(x) for x in s[1:-1].split(",") if x.strip()]
        if s in ("true", "false"):
            return s == "true"
        if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
            return s[1:-1]
        for conv in (int, float):
            try:
                return conv(s)
            except ValueError:
                pass
        return s

    root, stack = {}, [(-1, None)]
    stack[0] = (-1, root)
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        key, _, val = line.strip().partition(":")
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        if val.strip() == "":
            parent[key] = {}
            stack.append((indent, parent[key]))
        else:
            parent[key] = scalar(val)
    return root


def moe_layers(cfg):
    """Per layer, whether it is an MoE layer (moe.layer_freq: int N -> i % N == 0, or a 0/1 list)."""
    m, moe = cfg["model"], cfg["moe"]
    n = m["n_layers"]
    ne = moe["num_experts"]
    if not isinstance(ne, list) and ne == 0:
        return [False] * n
    freq = moe["layer_freq"]
    if isinstance(freq, list):
        return [i < len(freq) and bool(freq[i]) for i in range(n)]
    return [freq > 0 and i % freq == 0 for i in range(n)]


def experts_per_layer(cfg):
    """E of every layer (0 on dense layers)."""
    flags, ne = moe_layers(cfg), cfg["moe"]["num_experts"]
    out, j = [], 0
    for f in flags:
        if not f:
            out.append(0)
        elif isinstance(ne, list):
            out.append(ne[j])
            j += 1
        else:
            out.append(ne)
    return out


def active_matmul_params(cfg):
    """The matmul parameters one token passes through, counted as moetrain counts them."""
    m, moe = cfg["model"], cfg["moe"]
    d, h, hkv = m["d_model"], m["n_heads"], m["n_kv_heads"]
    dh = d // h
    attn = d * h * dh * 2 + d * hkv * dh * 2  # q, o and k, v
    total = d * m["vocab_size"]  # LM head
    for is_moe, e in zip(moe_layers(cfg), experts_per_layer(cfg)):
        total += attn
        if is_moe:
            total += 3 * d * moe["expert_ffn_hidden_size"] * (moe["top_k"] + moe["shared_experts"])
            total += d * e  # router gate
        else:
            total += 3 * d * m["ffn_hidden_size"]
    return total


def flops_per_token(cfg):
    m = cfg["model"]
    return 6 * active_matmul_params(cfg) + 12 * m["n_layers"] * cfg["train"]["seq_len"] * m["d_model"]


# ---------------------------------------------------------------- model

def build_model_classes(torch):
    nn, F = torch.nn, torch.nn.functional

    class RMSNorm(nn.Module):
        def __init__(self, d, eps):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(d))
            self.eps = eps

        def forward(self, x):  # [N, D]
            xf = x.float() if x.dtype in (torch.bfloat16, torch.float16) else x
            y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
            return (y * self.weight).to(x.dtype)

    def rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

    class Attention(nn.Module):
        def __init__(self, d, h, hkv):
            super().__init__()
            self.h, self.hkv, self.dh = h, hkv, d // h
            self.qkv = nn.Linear(d, (h + 2 * hkv) * self.dh, bias=False)  # q, k, v fused
            self.o_proj = nn.Linear(h * self.dh, d, bias=False)

        def forward(self, x, b, t, cos, sin, mask):
            # x [N, D]; cos, sin [T, 1, Dh]; mask [G*T, T] additive causal mask
            h, hkv, dh = self.h, self.hkv, self.dh
            g = h // hkv
            qkv = self.qkv(x).view(b, t, h + 2 * hkv, dh)
            q, k, v = qkv.split([h, hkv, hkv], dim=2)  # [B, T, H|Hkv, Dh]
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            # Query heads h = kv*G + j share kv head kv: stack their rows, [B*Hkv, G*T, Dh].
            q = q.transpose(1, 2).reshape(b * hkv, g * t, dh)
            k = k.transpose(1, 2).reshape(b * hkv, t, dh)
            v = v.transpose(1, 2).reshape(b * hkv, t, dh)
            s = torch.baddbmm(mask.to(q.dtype), q, k.transpose(1, 2), alpha=1.0 / math.sqrt(dh))  # [B*Hkv, G*T, T]
            p = torch.softmax(s, dim=-1)
            o = torch.bmm(p, v)  # [B*Hkv, G*T, Dh]
            o = o.view(b, h, t, dh).transpose(1, 2).reshape(b * t, h * dh)
            return self.o_proj(o)

    class SwiGLU(nn.Module):
        """w2(silu(w1 x) * w3 x) with w1 and w3 stored as one [2F, D] projection."""

        def __init__(self, d, f):
            super().__init__()
            self.f = f
            self.w13 = nn.Linear(d, 2 * f, bias=False)
            self.w2 = nn.Linear(f, d, bias=False)

        def forward(self, x):  # [n, D]
            a, c = self.w13(x).split(self.f, dim=-1)
            return self.w2(F.silu(a) * c)

    class MoE(nn.Module):
        def __init__(self, d, e, f, moe):
            super().__init__()
            r = moe["router"]
            self.e, self.k = e, moe["top_k"]
            self.rtype, self.pre_softmax, self.normalize = r["type"], r["pre_softmax"], r["normalize"]
            self.jitter, self.noise_std = r["jitter_eps"], r["noise_std"]
            self.use_bias, self.bias_rate = r["expert_bias"], r["bias_update_rate"]
            self.cf = moe["capacity_factor"]
            self.aux_coeff, self.z_coeff = moe["aux_loss_coeff"], moe["z_loss_coeff"]
            self.lb_type = moe["load_balancing_type"]
            self.gate = nn.Linear(d, e, bias=False)
            self.noise = nn.Linear(d, e, bias=False) if self.rtype == "noisy_topk" else None
            self.register_buffer("expert_bias", torch.zeros(e))
            self.experts = nn.ModuleList(SwiGLU(d, f) for _ in range(e))
            sh = moe["shared_experts"]
            self.shared = SwiGLU(d, sh * f) if sh > 0 else None
            self.last_counts = None

        def route(self, x):
            """Router in float32: returns logits [N, E], probs [N, E], chosen experts [N, K], weights [N, K]."""
            with torch.autocast("cpu", enabled=False):
                xf = x.float() if x.dtype in (torch.bfloat16, torch.float16) else x
                if self.training and self.jitter > 0:
                    xf = xf * torch.empty_like(xf).uniform_(1 - self.jitter, 1 + self.jitter)
                logits = F.linear(xf, self.gate.weight.to(xf.dtype))
                sigmoid_sel = False
                if self.rtype == "topk_softmax":
                    probs = torch.softmax(logits, -1)
                    sel, wsrc, soft = probs, logits, True
                    if self.pre_softmax:
                        sel = logits
                    elif not self.normalize:
                        wsrc, soft = probs, False
                elif self.rtype == "sigmoid":
                    log_sig = F.logsigmoid(logits)
                    probs = torch.softmax(log_sig, -1)
                    sel, wsrc, soft, sigmoid_sel = logits, log_sig, True, True
                elif self.rtype == "noisy_topk":
                    hh = logits
                    if self.training:
                        scale = F.softplus(F.linear(xf, self.noise.weight.to(xf.dtype)))
                        hh = logits + scale * torch.randn_like(logits) * self.noise_std
                    probs = torch.softmax(hh, -1)
                    sel, wsrc, soft = probs, hh, True
                else:
                    raise ValueError(f"unknown router type {self.rtype}")
                with torch.no_grad():
                    score = sel
                    if self.use_bias:
                        score = (torch.sigmoid(sel) if sigmoid_sel else sel) + self.expert_bias
                    top = torch.topk(score, self.k, dim=-1).indices  # [N, K]
                w = wsrc.gather(1, top)  # [N, K]
                if soft:
                    w = torch.softmax(w, -1)
            return logits, probs, top, w

        def forward(self, x, seq_len):  # x [N, D] -> y [N, D], aux loss
            n, d = x.shape
            logits, probs, top, w = self.route(x)
            flat = top.reshape(-1)  # [N*K] expert of each slot
            counts_all = torch.bincount(flat, minlength=self.e)  # [E] all slots (for the balance loss)
            order = torch.sort(flat, stable=True).indices  # slots grouped by expert
            wflat = w.reshape(-1)
            if self.cf > 0:
                cap = max(int(math.ceil(self.cf * n * self.k / self.e - 1e-9)), 1)
                if int(counts_all.max()) > cap:
                    order = self.apply_capacity(probs, flat, cap)
            counts = torch.bincount(flat.index_select(0, order), minlength=self.e)  # [E] kept slots
            self.last_counts = counts
            tok = torch.div(order, self.k, rounding_mode="floor")  # [M] token of each kept slot
            xs = x.index_select(0, tok)  # [M, D]
            outs = []
            for e, xe in enumerate(xs.split(counts.tolist())):
                if xe.shape[0] > 0:
                    outs.append(self.experts[e](xe))
            ys = torch.cat(outs) * wflat.index_select(0, order).unsqueeze(1).to(x.dtype)  # [M, D]
            y = torch.zeros(n, d, dtype=ys.dtype).index_add_(0, tok, ys)
            if self.shared is not None:
                y = y + self.shared(x)
            aux = self.aux_losses(logits, probs, flat, counts_all, n, seq_len)
            return y, aux

        def apply_capacity(self, probs, flat, cap):
            """Kept slots grouped by expert: each expert keeps its cap highest-probability slots."""
            n_slots = flat.numel()
            p = probs.gather(1, flat.view(-1, self.k)).reshape(-1)  # [N*K] prob of each slot's choice
            by_prob = torch.sort(p, descending=True, stable=True).indices
            grouped = by_prob.index_select(0, torch.sort(flat.index_select(0, by_prob), stable=True).indices)
            offsets = torch.cumsum(torch.bincount(flat, minlength=self.e), 0) - torch.bincount(flat, minlength=self.e)
            rank = torch.arange(n_slots) - offsets.index_select(0, flat.index_select(0, grouped))
            return grouped[rank < cap]

        def aux_losses(self, logits, probs, flat, counts_all, n, seq_len):
            total = logits.new_zeros(())
            if self.aux_coeff > 0 and self.lb_type != "none":
                if self.lb_type == "seq_aux_loss":
                    s = n // seq_len
                    seq_of_slot = torch.div(torch.arange(n * self.k), seq_len * self.k, rounding_mode="floor")
                    f = torch.bincount(seq_of_slot * self.e + flat, minlength=s * self.e).view(s, 1, self.e)
                    f = f.to(probs.dtype) / (seq_len * self.k)
                    total = total + (probs.view(s, seq_len, self.e) * f).sum() * (
                        self.aux_coeff * self.e / (s * seq_len))
                else:
                    f = counts_all.to(probs.dtype) / (n * self.k)
                    total = total + self.aux_coeff * self.e * (f * probs.mean(0)).sum()
            if self.z_coeff > 0:
                total = total + self.z_coeff * torch.logsumexp(logits, -1).pow(2).mean()
            return total

        @torch.no_grad()
        def update_bias(self):
            if not self.use_bias or self.bias_rate == 0 or self.last_counts is None:
                return
            c = self.last_counts.float()
            self.expert_bias += self.bias_rate * torch.sign(c.mean() - c)

    class Block(nn.Module):
        def __init__(self, cfg, is_moe, e):
            super().__init__()
            m = cfg["model"]
            d = m["d_model"]
            self.input_layernorm = RMSNorm(d, m["norm_eps"])
            self.self_attn = Attention(d, m["n_heads"], m["n_kv_heads"])
            self.post_attention_layernorm = RMSNorm(d, m["norm_eps"])
            if is_moe:
                self.moe = MoE(d, e, cfg["moe"]["expert_ffn_hidden_size"], cfg["moe"])
                self.mlp = None
            else:
                self.moe = None
                self.mlp = SwiGLU(d, m["ffn_hidden_size"])

        def forward(self, x, b, t, cos, sin, mask):
            h = x + self.self_attn(self.input_layernorm(x), b, t, cos, sin, mask)
            z = self.post_attention_layernorm(h)
            if self.moe is not None:
                y, aux = self.moe(z, t)
                return h + y, aux
            return h + self.mlp(z), None

    class Model(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            m = cfg["model"]
            d, v = m["d_model"], m["vocab_size"]
            self.cfg = cfg
            self.embed_tokens = nn.Embedding(v, d)
            self.layers = nn.ModuleList(
                Block(cfg, f, e) for f, e in zip(moe_layers(cfg), experts_per_layer(cfg)))
            self.norm = RMSNorm(d, m["norm_eps"])
            self.lm_head = None if m["tie_embeddings"] else nn.Linear(d, v, bias=False)
            self.dh = d // m["n_heads"]
            self.init_weights(m["init_std"], m["n_layers"])

        @torch.no_grad()
        def init_weights(self, std, n_layers):
            out_std = std / math.sqrt(2 * n_layers)
            for name, p in self.named_parameters():
                if name.endswith("norm.weight"):
                    p.fill_(1.0)
                elif ".noise." in name:
                    p.zero_()
                elif name.endswith("o_proj.weight") or name.endswith("w2.weight"):
                    p.normal_(0, out_std)
                else:
                    p.normal_(0, std)

        def rope_tables(self, t, theta, dtype=torch.float32):
            dh = self.dh
            inv = 1.0 / (theta ** (torch.arange(0, dh, 2, dtype=torch.float64) / dh))
            freqs = torch.outer(torch.arange(t, dtype=torch.float64), inv)
            emb = torch.cat((freqs, freqs), dim=-1)  # [T, Dh]
            return emb.cos().to(dtype)[:, None, :], emb.sin().to(dtype)[:, None, :]  # [T, 1, Dh]

        def causal_mask(self, t):
            m = self.cfg["model"]
            g = m["n_heads"] // m["n_kv_heads"]
            mask = torch.full((t, t), float("-inf")).triu(1)  # [T, T]
            return mask.repeat(g, 1)  # [G*T, T]: rows of the G stacked query heads

        def forward(self, tokens, b, t, cos, sin, mask):
            x = self.embed_tokens(tokens.view(-1))  # [N, D]
            aux = None
            for blk in self.layers:
                x, a = blk(x, b, t, cos, sin, mask)
                if a is not None:
                    aux = a if aux is None else aux + a
            x = self.norm(x)
            head = self.lm_head.weight if self.lm_head is not None else self.embed_tokens.weight
            return F.linear(x, head), aux  # [N, V]

    return Model


# ---------------------------------------------------------------- measurement

def gemm_peak(torch, n=1024, seconds=0.5):
    """float32 GEMM GFLOP/s of an n x n x n torch.mm on the current thread count."""
    g = torch.Generator().manual_seed(3)
    a, b = torch.rand(n, n, generator=g), torch.rand(n, n, generator=g)
    c = torch.mm(a, b)
    torch.mm(a, b, out=c)
    iters, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b, out=c)
        iters += 1
    return 2 * n ** 3 * iters / (time.perf_counter() - start) / 1e9


def loaded_blas():
    """Path of the OpenBLAS (or other BLAS) library mapped into this process."""
    try:
        with open("/proc/self/maps") as fh:
            libs = {line.split()[-1] for line in fh if "blas" in line.lower() and "/" in line}
    except OSError:
        return "unknown"
    return ",".join(sorted(libs)) or "none"


def rss_now():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def main(argv):
    args = parse_args(argv)
    setup_environment(args)
    cfg = load_config(args)
    import torch

    torch.set_num_threads(args.threads)
    rss_torch = rss_now()
    tr = cfg["train"]
    seed = tr["seed"] if args.seed is None else args.seed
    torch.manual_seed(seed)
    if tr.get("dropout", 0):
        print("bench_torch: train.dropout is ignored here; compare with dropout 0", file=sys.stderr)

    Model = build_model_classes(torch)
    model = Model(cfg)
    model.train()
    m = cfg["model"]
    b, t, accum, v = tr["micro_batch_size"], tr["seq_len"], tr["grad_accum_steps"], m["vocab_size"]
    cos, sin = model.rope_tables(t, float(m["rope_theta"]))
    mask = model.causal_mask(t)

    def no_decay(name):
        n = name.lower()
        return "norm" in n or "bias" in n or "embed" in n

    decay = [p for n, p in model.named_parameters() if not no_decay(n)]
    nodecay = [p for n, p in model.named_parameters() if no_decay(n)]
    params = decay + nodecay
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": tr["weight_decay"]}, {"params": nodecay, "weight_decay": 0.0}],
        lr=tr["lr"], betas=(tr["beta1"], tr["beta2"]), eps=tr["eps"], foreach=True)
    moes = [blk.moe for blk in model.layers if blk.moe is not None]
    gen = torch.Generator().manual_seed(seed + 1)
    F = torch.nn.functional

    def step():
        last = 0.0
        for _ in range(accum):
            tokens = torch.randint(0, v, (b, t), generator=gen)
            targets = torch.randint(0, v, (b * t,), generator=gen)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                logits, aux = model(tokens, b, t, cos, sin, mask)
            loss = F.cross_entropy(logits.float(), targets)
            if aux is not None:
                loss = loss + aux
            last = loss.item()
            if not math.isfinite(last):
                opt.zero_grad(set_to_none=True)
                return last
            (loss / accum).backward()
        norm = torch.nn.utils.clip_grad_norm_(params, tr["grad_clip"]) if tr["grad_clip"] > 0 else None
        if norm is not None and not math.isfinite(norm.item()):
            opt.zero_grad(set_to_none=True)
            return last
        opt.step()
        opt.zero_grad(set_to_none=True)
        for moe in moes:
            moe.update_bias()
        return last

    for _ in range(args.warmup):
        step()
    start = time.perf_counter()
    loss = 0.0
    for _ in range(args.steps):
        loss = step()
    elapsed = time.perf_counter() - start

    tokens_per_step = b * t * accum
    res = {
        "config": args.config,
        "steps": args.steps,
        "tokens_per_step": tokens_per_step,
        "tokens_per_s": args.steps * tokens_per_step / elapsed,
        "ms_per_step": elapsed * 1000 / args.steps,
        "flops_per_token": float(flops_per_token(cfg)),
    }
    res["gflops"] = res["tokens_per_s"] * res["flops_per_token"] / 1e9
    res["gemm_peak_gflops"] = gemm_peak(torch)
    res["gemm_util"] = res["gflops"] / res["gemm_peak_gflops"] if res["gemm_peak_gflops"] > 0 else 0.0
    res["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    res["rss_after_import_bytes"] = rss_torch
    res["params"] = sum(p.numel() for p in model.parameters())
    res["blas"] = loaded_blas()
    res["threads"] = torch.get_num_threads()
    res["dtype"] = "bf16-autocast" if args.bf16 else "fp32"
    res["torch"] = torch.__version__
    res["cpu_capability"] = os.environ.get("ATEN_CPU_CAPABILITY", "")
    res["final_loss"] = loss
    if args.json:
        print(json.dumps(res))
    else:
        print(f"{res['config']}: {res['tokens_per_s']:.0f} tokens/s, {res['ms_per_step']:.1f} ms/step "
              f"({tokens_per_step} tokens/step), {res['flops_per_token'] / 1e6:.1f} MFLOP/token -> "
              f"{res['gflops']:.1f} GFLOP/s, GEMM peak {res['gemm_peak_gflops']:.1f} GFLOP/s, {100 * res['gemm_util']:.1f}% of it, "
              f"peak RSS {res['peak_rss_bytes'] / 2 ** 20:.0f} MiB, {res['params']} params, blas {res['blas']}, "
              f"{res['threads']} threads, {res['dtype']}, torch {res['torch']}")


if __name__ == "__main__":
    main(sys.argv[1:])

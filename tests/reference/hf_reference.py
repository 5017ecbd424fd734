#!/usr/bin/python3
"""Independent float64 reference of the Hugging Face decoder forward pass (Qwen3, Qwen2, Llama).

Written plainly from transformers' modeling_llama.py / modeling_qwen2.py / modeling_qwen3.py and
modeling_rope_utils.py (default, llama3 and yarn rope), with numpy only: it reads config.json and the
safetensors files itself and shares no code with the C++ engine. Used by tests/engine_reference.cmake:

  hf_reference.py --model DIR --ids 1,2,3 --cpp-logits L.npy [--cpp-hidden H.npy] [--rtol 1e-4]

compares the engine's float32 logits (and hidden states: rows 0..L-1 the residual after each layer,
row L the final-norm output) with this reference; the error is max|cpp - ref| / max|ref| per array.
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        buf = raw[base + b: base + e]
        if info["dtype"] == "F32":
            a = np.frombuffer(buf, dtype="<f4")
        elif info["dtype"] == "F16":
            a = np.frombuffer(buf, dtype="<f2")
        elif info["dtype"] == "BF16":
            a = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{path}: {name}: dtype {info['dtype']}")
        out[name] = a.astype(np.float64).reshape(info["shape"])
    return out


def load_checkpoint(d):
    index = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(index):
        files = sorted(set(json.load(open(index))["weight_map"].values()))
        w = {}
        for f in files:
            w.update(load_safetensors(os.path.join(d, f)))
        return w
    return load_safetensors(os.path.join(d, "model.safetensors"))


def rope_inv_freq(cfg, head_dim):
    """modeling_rope_utils: _compute_default / _compute_llama3 / _compute_yarn_parameters."""
    base = cfg.get("rope_theta", 10000.0)
    dim = head_dim
    inv = 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type", "default"))
    attention_factor = 1.0
    if kind == "llama3":
        factor = rs["factor"]
        low, high = rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wl, high_wl = old / low, old / high
        wl = 2 * math.pi / inv
        inv_l = np.where(wl > low_wl, inv / factor, inv)
        smooth = (old / wl - low) / (high - low)
        smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
        medium = ~(wl < high_wl) & ~(wl > low_wl)
        inv = np.where(medium, smoothed, inv_l)
    elif kind == "yarn":
        factor = rs["factor"]
        orig = rs.get("original_max_position_embeddings") or cfg["max_position_embeddings"]
        def get_mscale(scale, m=1.0):
            return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0
        attention_factor = rs.get("attention_factor")
        if attention_factor is None:
            if rs.get("mscale") and rs.get("mscale_all_dim"):
                attention_factor = get_mscale(factor, rs["mscale"]) / get_mscale(factor, rs["mscale_all_dim"])
            else:
                attention_factor = get_mscale(factor)
        beta_fast = rs.get("beta_fast") or 32
        beta_slow = rs.get("beta_slow") or 1
        def corr_dim(rot):
            return (dim * math.log(orig / (rot * 2 * math.pi))) / (2 * math.log(base))
        lo, hi = corr_dim(beta_fast), corr_dim(beta_slow)
        if rs.get("truncate", True):
            lo, hi = math.floor(lo), math.ceil(hi)
        lo, hi = max(lo, 0), min(hi, dim - 1)
        if lo == hi:
            hi += 0.001
        ramp = np.clip((np.arange(dim // 2, dtype=np.float64) - lo) / (hi - lo), 0, 1)
        extrapolation_factor = 1 - ramp
        pos_freqs = base ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
        inv = (1.0 / (factor * pos_freqs)) * (1 - extrapolation_factor) + (1.0 / pos_freqs) * extrapolation_factor
    elif kind != "default":
        raise ValueError(f"rope type {kind}")
    return inv, attention_factor


def rms_norm(x, w, eps):
    return w * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], axis=-1)


def forward(d, ids):
    cfg = json.load(open(os.path.join(d, "config.json")))
    arch = cfg["architectures"][0]
    w = load_checkpoint(d)
    C, L = cfg["hidden_size"], cfg["num_hidden_layers"]
    nh = cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd = cfg.get("head_dim") or C // nh
    eps = cfg["rms_norm_eps"]
    T = len(ids)
    inv, attn_factor = rope_inv_freq(cfg, hd)
    pos = np.arange(T, dtype=np.float64)
    emb = np.concatenate([np.outer(pos, inv)] * 2, axis=-1)       # [T, hd]
    cos, sin = np.cos(emb) * attn_factor, np.sin(emb) * attn_factor
    mask = np.triu(np.full((T, T), -np.inf), k=1)

    def lin(x, name):
        y = x @ w[name + ".weight"].T
        if name + ".bias" in w:
            y = y + w[name + ".bias"]
        return y

    x = w["model.embed_tokens.weight"][ids]                         # [T, C]
    hidden = []
    for i in range(L):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = lin(h, p + "self_attn.q_proj").reshape(T, nh, hd)
        k = lin(h, p + "self_attn.k_proj").reshape(T, nkv, hd)
        v = lin(h, p + "self_attn.v_proj").reshape(T, nkv, hd)
        if arch == "Qwen3ForCausalLM":
            q = rms_norm(q, w[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, w[p + "self_attn.k_norm.weight"], eps)
        q = q * cos[:, None, :] + rotate_half(q) * sin[:, None, :]
        k = k * cos[:, None, :] + rotate_half(k) * sin[:, None, :]
        rep = nh // nkv
        k = np.repeat(k, rep, axis=1)                               # repeat_kv = repeat_interleave
        v = np.repeat(v, rep, axis=1)
        s = np.einsum("thd,shd->hts", q, k) * hd ** -0.5 + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        pr = s / s.sum(-1, keepdims=True)
        o = np.einsum("hts,shd->thd", pr, v).reshape(T, nh * hd)
        x = x + lin(o, p + "self_attn.o_proj")
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = lin(h, p + "mlp.gate_proj")
        x = x + lin((g / (1 + np.exp(-g))) * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
        hidden.append(x)
    x = rms_norm(x, w["model.norm.weight"], eps)
    hidden.append(x)
    head = w.get("lm_head.weight")
    if head is None:
        if not cfg.get("tie_word_embeddings", False):
            raise ValueError("lm_head.weight missing and embeddings not tied")
        head = w["model.embed_tokens.weight"]
    return x @ head.T, np.stack(hidden)


def rel_err(a, ref):
    return float(np.max(np.abs(a.astype(np.float64) - ref)) / max(np.max(np.abs(ref)), 1e-30))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--cpp-logits", required=True)
    ap.add_argument("--cpp-hidden")
    ap.add_argument("--rtol", type=float, default=1e-4)
    a = ap.parse_args()
    ids = [int(t) for t in a.ids.split(",")]
    logits, hidden = forward(a.model, ids)
    ok = True
    cpp = np.load(a.cpp_logits)
    if cpp.shape != logits.shape:
        print(f"logits shape {cpp.shape} != reference {logits.shape}")
        sys.exit(1)
    e = rel_err(cpp, logits)
    top1 = float(np.mean(cpp.argmax(-1) == logits.argmax(-1)))
    print(f"{a.model}: logits rel err {e:.3g} (tol {a.rtol}), top-1 agreement {top1:.3f}")
    ok &= e <= a.rtol and top1 == 1.0
    if a.cpp_hidden:
        h = np.load(a.cpp_hidden)
        if h.shape != hidden.shape:
            print(f"hidden shape {h.shape} != reference {hidden.shape}")
            sys.exit(1)
        for i in range(h.shape[0]):
            e = rel_err(h[i], hidden[i])
            print(f"  hidden[{i}] rel err {e:.3g}")
            ok &= e <= a.rtol
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

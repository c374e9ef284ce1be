#!/usr/bin/python3
"""Independent reference for the quantization quality figures: a float64 numpy implementation of the
Llama forward pass (Hugging Face semantics: rotate-half RoPE, GQA, RMSNorm, SwiGLU, optional q/k/v/o
biases), round-to-nearest W8A16 (per output channel) and W4A16 (groups of 128) written from the
definition (W8A16 products take their activations as int16, one scale per 128 values: amax / 32767), the
tensors a quantized model keeps in float rounded to bfloat16 (what the Ascend stacks need of an f32 source),
and llama.cpp's perplexity chunking (chunks of n_ctx tokens, BOS first, second half scored).
Tokens come from Debian's python3-sentencepiece, not from pangu.

    /usr/bin/python3 tests/reference/quant_quality_reference.py MODEL_DIR TEXT N_CTX [MAX_CHUNKS]

TEXT is a plain-text file or a directory of CSV files (cells joined by spaces, rows and files separated by
blank lines, files in name order: pangu's corpus reader does the same). Models with tokenizer.model are
tokenized by sentencepiece; character-level tokenizer.json models (BPE without merges) by vocabulary lookup.

Prints {"n_scored", "ppl", "w8a16": {...}, "w4a16-g128": {...}} with mean_kld, kld_p99, top1_agreement, ppl.
"""
import csv
import json
import os
import struct
import sys

import numpy as np
import sentencepiece as spm


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        assert info["dtype"] == "F32", name
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(info["shape"]).astype(np.float64)
    return tensors


def quantize(w, bits, group):
    """Symmetric round-to-nearest (half to even, as numpy.rint), one scale per group of columns."""
    qmax = 2 ** (bits - 1) - 1
    rows, cols = w.shape
    group = cols if group is None or group >= cols else group
    out = np.empty_like(w)
    for start in range(0, cols, group):
        block = w[:, start:start + group].astype(np.float32)
        scale = (np.abs(block).max(axis=1, keepdims=True) / np.float32(qmax)).astype(np.float32)
        safe = np.where(scale > 0, scale, np.float32(1))
        q = np.clip(np.rint(block / safe), -qmax - 1, qmax)
        q = np.where(scale > 0, q, 0)
        out[:, start:start + group] = q.astype(np.float64) * scale.astype(np.float64)
    return out


def bf16(x):
    """Rounded to the nearest bfloat16 (ties to even), as torch's .to(torch.bfloat16) does."""
    u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return u.astype(np.uint32).view(np.float32).astype(np.float64)


def int16_activations(x, group=128):
    """Each row cut into groups of `group` values, each rounded to int16 with scale amax / 32767."""
    out = np.empty_like(x)
    for start in range(0, x.shape[-1], group):
        block = x[..., start:start + group]
        amax = np.abs(block).max(axis=-1, keepdims=True)
        scale = amax / 32767
        safe = np.where(amax > 0, scale, 1.0)
        out[..., start:start + group] = np.where(amax > 0, np.rint(block / safe), 0) * scale
    return out


class Llama:
    def __init__(self, cfg, t, int16_inputs=()):
        self.cfg, self.t = cfg, t
        self.int16_inputs = set(int16_inputs)  # weights whose products take int16 activations
        self.h = cfg["hidden_size"]
        self.nh = cfg["num_attention_heads"]
        self.nkv = cfg.get("num_key_value_heads", self.nh)
        self.hd = cfg.get("head_dim", self.h // self.nh)
        self.eps = cfg["rms_norm_eps"]
        self.theta = cfg.get("rope_theta", 10000.0)

    def w(self, name):
        return self.t[name]

    def rms(self, x, g):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + self.eps) * g

    def linear(self, x, name):
        if name + ".weight" in self.int16_inputs:
            x = int16_activations(x)
        y = x @ self.w(name + ".weight").T
        if name + ".bias" in self.t:
            y = y + self.t[name + ".bias"]
        return y

    def rope(self, x, pos):
        half = self.hd // 2
        inv = 1.0 / self.theta ** (np.arange(0, half) * 2.0 / self.hd)
        ang = pos[:, None] * inv[None, :]
        cos = np.concatenate([np.cos(ang)] * 2, -1)[:, None, :]
        sin = np.concatenate([np.sin(ang)] * 2, -1)[:, None, :]
        rot = np.concatenate([-x[..., half:], x[..., :half]], -1)
        return x * cos + rot * sin

    def logits(self, ids):
        n = len(ids)
        x = self.w("model.embed_tokens.weight")[ids]
        pos = np.arange(n, dtype=np.float64)
        mask = np.triu(np.full((n, n), -np.inf), 1)
        for i in range(self.cfg["num_hidden_layers"]):
            p = f"model.layers.{i}."
            xn = self.rms(x, self.w(p + "input_layernorm.weight"))
            q = self.rope(self.linear(xn, p + "self_attn.q_proj").reshape(n, self.nh, self.hd), pos)
            k = self.rope(self.linear(xn, p + "self_attn.k_proj").reshape(n, self.nkv, self.hd), pos)
            v = self.linear(xn, p + "self_attn.v_proj").reshape(n, self.nkv, self.hd)
            rep = self.nh // self.nkv
            k = np.repeat(k, rep, axis=1)
            v = np.repeat(v, rep, axis=1)
            s = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(self.hd) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            a = np.einsum("hqk,khd->qhd", s, v).reshape(n, self.nh * self.hd)
            x = x + self.linear(a, p + "self_attn.o_proj")
            xn = self.rms(x, self.w(p + "post_attention_layernorm.weight"))
            g = self.linear(xn, p + "mlp.gate_proj")
            u = self.linear(xn, p + "mlp.up_proj")
            x = x + self.linear(g / (1 + np.exp(-g)) * u, p + "mlp.down_proj")
        x = self.rms(x, self.w("model.norm.weight"))
        head = self.t.get("lm_head.weight", self.w("model.embed_tokens.weight"))
        return x @ head.T


def log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def read_text(path):
    if not os.path.isdir(path):
        return open(path, encoding="utf-8").read()
    docs = []
    for name in sorted(os.listdir(path)):
        with open(os.path.join(path, name), encoding="utf-8", newline="") as f:
            for row in csv.reader(f):
                doc = " ".join(cell for cell in row if cell)
                if doc:
                    docs.append(doc)
    return "\n\n".join(docs)


def tokenizer_for(model_dir):
    """(encode, bos_id)"""
    if os.path.exists(f"{model_dir}/tokenizer.model"):
        sp = spm.SentencePieceProcessor(model_file=f"{model_dir}/tokenizer.model")
        return sp.encode, sp.bos_id()
    tok = json.load(open(f"{model_dir}/tokenizer.json", encoding="utf-8"))
    assert tok["model"]["type"] == "BPE" and not tok["model"].get("merges"), "only character-level BPE"
    vocab = tok["model"]["vocab"]
    unk = vocab[tok["model"]["unk_token"]]
    bos = next(t["id"] for t in tok["added_tokens"] if t["content"] == "<s>")
    return (lambda text: [vocab.get(ch, unk) for ch in text]), bos


def main():
    model_dir, text_path, n_ctx = sys.argv[1], sys.argv[2], int(sys.argv[3])
    max_chunks = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    cfg = json.load(open(f"{model_dir}/config.json"))
    tensors = load_safetensors(f"{model_dir}/model.safetensors")
    encode, bos_id = tokenizer_for(model_dir)
    ids = encode(read_text(text_path))
    n_chunks = len(ids) // n_ctx
    if max_chunks:
        n_chunks = min(n_chunks, max_chunks)
    first = n_ctx // 2
    linear_suffixes = ("q_proj.weight", "k_proj.weight", "v_proj.weight", "o_proj.weight", "gate_proj.weight",
                       "up_proj.weight", "down_proj.weight")
    variants = {"w8a16": (8, None), "w4a16-g128": (4, 128)}
    models = {"float": Llama(cfg, tensors)}
    for name, (bits, group) in variants.items():
        qt = dict(tensors)
        for k, w in tensors.items():
            qt[k] = quantize(w, bits, group) if k.endswith(linear_suffixes) else bf16(w)
        int16_inputs = [k for k in tensors if k.endswith(linear_suffixes)] if bits == 8 else []
        models[name] = Llama(cfg, qt, int16_inputs)
    stats = {name: {"nll": [], "kld": [], "same": []} for name in models}
    for c in range(n_chunks):
        chunk = list(ids[c * n_ctx:(c + 1) * n_ctx])
        chunk[0] = bos_id
        targets = np.array(chunk[first + 1:])
        base = log_softmax(models["float"].logits(chunk))[first:n_ctx - 1]
        for name, m in models.items():
            lp = base if name == "float" else log_softmax(m.logits(chunk))[first:n_ctx - 1]
            s = stats[name]
            s["nll"].extend(-lp[np.arange(len(targets)), targets])
            s["kld"].extend((np.exp(base) * (base - lp)).sum(-1))
            s["same"].extend(base.argmax(-1) == lp.argmax(-1))
    out = {"model": model_dir.rstrip("/").split("/")[-1], "text": text_path.rstrip("/").split("/")[-1], "n_ctx": n_ctx,
           "n_chunks": n_chunks, "n_scored": len(stats["float"]["nll"]),
           "ppl": float(np.exp(np.mean(stats["float"]["nll"])))}
    for name in variants:
        s = stats[name]
        out[name] = {"ppl": float(np.exp(np.mean(s["nll"]))), "mean_kld": float(np.mean(s["kld"])),
                     "kld_p99": float(np.percentile(s["kld"], 99)), "top1_agreement": float(np.mean(s["same"]))}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

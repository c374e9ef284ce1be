#!/usr/bin/python3
"""Reference dequantization of llama.cpp's block formats, written from the block layouts of ggml-common.h
(ggml-org/llama.cpp) with numpy array operations, independently of src/io/ggml_quants.cpp.

Writes tests/data/ggml_blocks_golden.json: for each type, random blocks (hex) with in-range f16 scales and
the f32 values they hold. tests/unit/gguf_test.cpp decodes the same bytes and compares.

usage: tests/reference/ggml_blocks_reference.py [OUT]
"""
import json, os, sys
import numpy as np

QK, QKK = 32, 256
rng = np.random.default_rng(20261202)


def f16(b, off):  # little-endian half at byte offset
    return float(np.frombuffer(bytes(b[off:off + 2]), np.float16)[0])


def nibbles_lo_hi(qs):  # legacy blocks: value j in the low nibble of byte j, value j+16 in its high nibble
    qs = np.asarray(qs, np.int32)
    return np.concatenate([qs & 0xF, qs >> 4])


def bits_of(qh_bytes):  # 32 bits, little-endian, bit j of the u32
    u = int.from_bytes(bytes(qh_bytes), "little")
    return np.array([(u >> j) & 1 for j in range(32)], np.int32)


def q4_0(b):
    return (nibbles_lo_hi(b[2:18]) - 8) * f16(b, 0)


def q4_1(b):
    return nibbles_lo_hi(b[4:20]) * f16(b, 0) + f16(b, 2)


def q5_0(b):
    return ((nibbles_lo_hi(b[6:22]) | (bits_of(b[2:6]) << 4)) - 16) * f16(b, 0)


def q5_1(b):
    return (nibbles_lo_hi(b[8:24]) | (bits_of(b[4:8]) << 4)) * f16(b, 0) + f16(b, 2)


def q8_0(b):
    return np.frombuffer(bytes(b[2:34]), np.int8).astype(np.float64) * f16(b, 0)


def q2_k(b):
    scales = np.asarray(b[0:16], np.int32)
    qs = np.asarray(b[16:80], np.int32).reshape(2, 32)  # two halves of 128 values
    d, dmin = f16(b, 80), f16(b, 82)
    out = []
    for half in range(2):
        for shift in range(4):  # 2-bit planes of the 32 bytes, 16 values per scale
            codes = (qs[half] >> (2 * shift)) & 3
            for part in range(2):
                sc = scales[half * 8 + shift * 2 + part]
                out.append(d * (sc & 0xF) * codes[16 * part:16 * part + 16] - dmin * (sc >> 4))
    return np.concatenate(out)


def q3_k(b):
    hmask = np.asarray(b[0:32], np.int32)
    qs = np.asarray(b[32:96], np.int32).reshape(2, 32)
    raw = np.asarray(b[96:108], np.int32)
    d = f16(b, 108)
    # 16 six-bit scales: low 4 bits in bytes 0..7 (low nibbles for 0..7, high nibbles for 8..15),
    # high 2 bits in bytes 8..11 (2-bit fields, scale i at byte 8 + i % 4, field i // 4).
    low = np.concatenate([raw[0:8] & 0xF, raw[0:8] >> 4])
    high = np.array([(raw[8 + i % 4] >> (2 * (i // 4))) & 3 for i in range(16)])
    scales = (low | (high << 4)) - 32
    out, bit = [], 0
    for half in range(2):
        for shift in range(4):
            codes = (qs[half] >> (2 * shift)) & 3
            hbit = (hmask >> bit) & 1
            bit += 1
            vals = codes - np.where(hbit == 1, 0, 4)
            for part in range(2):
                out.append(d * scales[half * 8 + shift * 2 + part] * vals[16 * part:16 * part + 16])
    return np.concatenate(out)


def k_scales(s):  # Q4_K / Q5_K: 8 sub-blocks, 6-bit scale and min
    s = np.asarray(s, np.int32)
    sc, mn = np.zeros(8, np.int32), np.zeros(8, np.int32)
    sc[:4], mn[:4] = s[0:4] & 63, s[4:8] & 63
    sc[4:] = (s[8:12] & 0xF) | ((s[0:4] >> 6) << 4)
    mn[4:] = (s[8:12] >> 4) | ((s[4:8] >> 6) << 4)
    return sc, mn


def q4_k(b):
    d, dmin = f16(b, 0), f16(b, 2)
    sc, mn = k_scales(b[4:16])
    qs = np.asarray(b[16:144], np.int32).reshape(4, 32)
    out = []
    for chunk in range(4):
        for part, codes in enumerate([qs[chunk] & 0xF, qs[chunk] >> 4]):
            j = 2 * chunk + part
            out.append(d * sc[j] * codes - dmin * mn[j])
    return np.concatenate(out)


def q5_k(b):
    d, dmin = f16(b, 0), f16(b, 2)
    sc, mn = k_scales(b[4:16])
    qh = np.asarray(b[16:48], np.int32)
    qs = np.asarray(b[48:176], np.int32).reshape(4, 32)
    out = []
    for chunk in range(4):
        for part, codes in enumerate([qs[chunk] & 0xF, qs[chunk] >> 4]):
            j = 2 * chunk + part
            out.append(d * sc[j] * (codes + 16 * ((qh >> j) & 1)) - dmin * mn[j])
    return np.concatenate(out)


def q6_k(b):
    ql = np.asarray(b[0:128], np.int32).reshape(2, 64)
    qh = np.asarray(b[128:192], np.int32).reshape(2, 32)
    sc = np.frombuffer(bytes(b[192:208]), np.int8).astype(np.int32).reshape(2, 8)
    d = f16(b, 208)
    out = []
    for half in range(2):
        lo = [ql[half][0:32] & 0xF, ql[half][32:64] & 0xF, ql[half][0:32] >> 4, ql[half][32:64] >> 4]
        for k in range(4):  # four runs of 32 values, two scales each
            q = (lo[k] | (((qh[half] >> (2 * k)) & 3) << 4)) - 32
            scale = np.repeat(sc[half][2 * k:2 * k + 2], 16)
            out.append(d * scale * q)
    return np.concatenate(out)


# type id, name, bytes per block, values, decoder, offsets of f16 scale fields
TYPES = [
    (2, "Q4_0", 18, QK, q4_0, [0]),
    (3, "Q4_1", 20, QK, q4_1, [0, 2]),
    (6, "Q5_0", 22, QK, q5_0, [0]),
    (7, "Q5_1", 24, QK, q5_1, [0, 2]),
    (8, "Q8_0", 34, QK, q8_0, [0]),
    (10, "Q2_K", 84, QKK, q2_k, [80, 82]),
    (11, "Q3_K", 110, QKK, q3_k, [108]),
    (12, "Q4_K", 144, QKK, q4_k, [0, 2]),
    (13, "Q5_K", 176, QKK, q5_k, [0, 2]),
    (14, "Q6_K", 210, QKK, q6_k, [208]),
]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../data/ggml_blocks_golden.json")
    cases = []
    for type_id, name, nbytes, nvalues, decode, half_fields in TYPES:
        blocks = []
        for _ in range(3):
            b = bytearray(rng.integers(0, 256, nbytes, dtype=np.uint8).tobytes())
            for off in half_fields:  # finite scales of a realistic size
                b[off:off + 2] = np.float16(rng.uniform(-0.05, 0.05)).tobytes()
            blocks.append(b)
        data = b"".join(blocks)
        values = np.concatenate([decode(blk) for blk in blocks])
        assert values.shape == (3 * nvalues,)
        cases.append({"type": type_id, "name": name, "n": 3 * nvalues, "hex": data.hex(),
                      "values": [float(v) for v in values.astype(np.float32)]})
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"source": "tests/reference/ggml_blocks_reference.py", "cases": cases}, f)
    os.replace(tmp, out)
    print(f"wrote {out}: {len(cases)} types")


if __name__ == "__main__":
    main()

"""Lane-level CPU emulation of actQuantWarpKernel's index math and bit packing
(gpu-node/csrc/act-quant-warp.cuh), checked against a direct packing of the reference codes.

Emulates, per token, warp part and lane: the word assignment w = lane + 32 (part + kWpt c), the
16-byte load bounds (K % 8 == 0), the byte packing and 8x8 bit transpose with __byte_perm semantics,
the 4x4 byte transpose into plane words, the padding words, and the code sums (per channel, or per
weight group of 32 * 2^j elements through the xor-shuffle tree). The quantization itself is the
reference's f32 steps (numpy float32), so this checks the layout, not the f32 rounding (the GPU check
does that bit for bit). Needs numpy.

    python3 scripts/gpu/emulate-act-quant.py [SEED]
"""
import sys

import numpy as np

rng = np.random.default_rng(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
M32 = (1 << 32) - 1


def byte_perm(x, y, s):
    b = [(x >> (8 * i)) & 255 for i in range(4)] + [(y >> (8 * i)) & 255 for i in range(4)]
    return sum(b[(s >> (4 * i)) & 7] << (8 * i) for i in range(4))


def transpose_bits(lo, hi):
    t = (lo ^ (lo >> 7)) & 0x00AA00AA; lo ^= t ^ ((t << 7) & M32)
    t = (hi ^ (hi >> 7)) & 0x00AA00AA; hi ^= t ^ ((t << 7) & M32)
    t = (lo ^ (lo >> 14)) & 0x0000CCCC; lo ^= t ^ ((t << 14) & M32)
    t = (hi ^ (hi >> 14)) & 0x0000CCCC; hi ^= t ^ ((t << 14) & M32)
    t = ((lo >> 4) ^ hi) & 0x0F0F0F0F; hi ^= t; lo ^= (t << 4) & M32
    return lo, hi


def transpose_bytes(v):
    a, b = byte_perm(v[0], v[1], 0x5140), byte_perm(v[0], v[1], 0x7362)
    c, d = byte_perm(v[2], v[3], 0x5140), byte_perm(v[2], v[3], 0x7362)
    return [byte_perm(a, c, 0x5410), byte_perm(a, c, 0x7632), byte_perm(b, d, 0x5410), byte_perm(b, d, 0x7632)]


def ref_codes(x, bits):
    """shared/numerics/act-quant.ts per token, in float32 (layout oracle only)."""
    qmax = (1 << bits) - 1
    lo, hi = np.float32(min(0.0, x.min())), np.float32(max(0.0, x.max()))
    scale = np.float32(np.float32(hi - lo) / np.float32(qmax))
    if not scale > 0: scale = np.float32(1)
    inv = np.float32(np.float32(1) / scale)
    zero = int(min(qmax, max(0, np.rint(np.float32(-lo * inv)))))
    codes = np.clip(np.rint((x * inv).astype(np.float32)) + zero, 0, qmax).astype(np.int64)
    return codes


def run(m, k, bits, sum_group, wpt):
    words = -(-k // 32); words_pad = -(-words // 16) * 16
    groups_s = -(-k // sum_group)
    log_wps = 0
    if groups_s > 1:
        while (32 << log_wps) < sum_group: log_wps += 1
        assert (32 << log_wps) == sum_group and (1 << log_wps) <= 32
    x = rng.normal(size=(m, k)).astype(np.float32)
    planes = np.full((bits, m, words_pad), 0xDEADBEEF, dtype=np.int64)  # unwritten words show up
    sums = np.full((m, groups_s), -1, dtype=np.int64)
    vecs = k // 8
    chunks = -(-words_pad // (32 * wpt))
    for token in range(m):
        codes_row = ref_codes(x[token], bits)
        token_sum = 0
        for part in range(wpt):
            for c in range(chunks):
                word_sums = {}
                for lane in range(32):
                    w = lane + 32 * (part + wpt * c)
                    lo, hi = [0] * 4, [0] * 4
                    for u in range(4):
                        v = 4 * w + u
                        if v < vecs:
                            code = [int(codes_row[8 * v + e]) for e in range(8)]
                            lo[u] = byte_perm(byte_perm(code[0], code[1], 0x0040), byte_perm(code[2], code[3], 0x0040), 0x5410)
                            hi[u] = byte_perm(byte_perm(code[4], code[5], 0x0040), byte_perm(code[6], code[7], 0x0040), 0x5410)
                            lo[u], hi[u] = transpose_bits(lo[u], hi[u])
                    plane = transpose_bytes(lo) + transpose_bytes(hi)
                    word_sum = 0
                    for b in range(bits):
                        if w < words_pad: planes[b, token, w] = plane[b]
                        word_sum += bin(plane[b]).count('1') << b
                    word_sums[lane] = word_sum
                if groups_s == 1:
                    token_sum += sum(word_sums.values())
                else:  # xor-shuffle tree over groups of 2^log_wps lanes
                    off = 1
                    while off < (1 << log_wps):
                        word_sums = {l: word_sums[l] + word_sums[l ^ off] for l in range(32)}; off <<= 1
                    for lane in range(32):
                        w = lane + 32 * (part + wpt * c); group = w >> log_wps
                        if lane & ((1 << log_wps) - 1) == 0 and group < groups_s:
                            sums[token, group] = word_sums[lane]
        if groups_s == 1: sums[token, 0] = token_sum
    # Oracle: LSB-first plane words of the reference codes, zero padding words, sums per group.
    ok = True
    for token in range(m):
        codes_row = ref_codes(x[token], bits)
        padded = np.zeros(words_pad * 32, dtype=np.int64); padded[:k] = codes_row
        for b in range(bits):
            bitsv = (padded >> b) & 1
            want = [int(sum(int(bitsv[32 * w + e]) << e for e in range(32))) for w in range(words_pad)]
            if list(planes[b, token]) != want: ok = False
        want_sums = [int(codes_row[g * sum_group:(g + 1) * sum_group].sum()) for g in range(groups_s)]
        if list(sums[token]) != want_sums: ok = False
    print(f"M={m} K={k} bits={bits} sumGroup={sum_group} wpt={wpt}: {'OK' if ok else 'MISMATCH'}", flush=True)
    return ok


cases = [(3, 8, 1, 8, 1), (2, 1000, 8, 1000, 1), (2, 1032, 5, 1024, 2), (3, 4096, 3, 256, 8), (2, 64, 2, 32, 4),
         (1, 2048, 7, 64, 8), (2, 520, 4, 520, 2), (1, 1096, 6, 128, 1)]
results = [run(*c) for c in cases]
sys.exit(0 if all(results) else 1)

"""Lane-level CPU emulation of btcTiledKernel's index math (gpu-node/csrc/btc-tiled-kernel.cuh).

Emulates, per CTA, warp and lane: the weight-row repack from the fragment tile layout, the cp.async
stage fill with the XOR swizzle, ldmatrix.x4 fragment delivery (PTX semantics: lane l gets word l%4 of
row l/4 of each 8x8 b16 matrix), m16n8k256 AND.POPC with accumulation in C, and flush() (2^(i+j)
shifts, xor-shuffle sums, owner lanes), and compares the integer group accumulators with codes @ codes^T.
It checks the layout and reduction logic without a GPU (not the PTX itself, not timing); run it after
changing the tile constants or the swizzle. Needs numpy. Slow (pure Python): small shapes only.

    [ABQ_BTC_TILED_CTA=128x256] python3 scripts/gpu/emulate-tiled.py [SEED] [CASE_INDEX | flush]
    (flush: only the flush, every (R, Rp); the variable picks the CTA shape, as in the kernel)
"""
import numpy as np, os, sys
rng = np.random.default_rng(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
# Mirrors the constexpr constants of btc-tiled-kernel.cuh (change both together). The CTA shape follows
# the kernel's ABQ_BTC_TILED_CTA: 128 x 128 (2 x 2 warps) by default, 128 x 256 (2 x 4 warps) when set.
WM, MT, NT = 2, 4, 8
WN = 4 if os.environ.get('ABQ_BTC_TILED_CTA') == '128x256' else 2
kCtaRows, kCtaCols, kRowUnits, kStageWords = WM * MT * 16, WN * NT * 8, 4, 16
def pow2(v):
    r = 1
    while r < v: r *= 2
    return r
def popc(x): return bin(int(x)).count('1')
kYPad = 4
def flush_warp(Sw, R, Rp, warpRow, warpCol):
    """The kernel's flush for one warp: Sw[lane, mt, nt, 4] counts -> {(token_local, out_local): sum},
    plus, per owned value f, the ysm word offsets the 32 lanes touch (for the bank-conflict report)."""
    logR, logRp = R.bit_length() - 1, Rp.bit_length() - 1
    C = 2 if Rp == 1 else 1; NV = 2 * MT * NT * C
    kOuts = kCtaCols >> logRp; stride = kOuts + kYPad
    v = np.zeros((32, NV), dtype=np.uint64)
    for lane in range(32):
        g, t = lane // 4, lane % 4; i = g & (R - 1); shift = i + ((2 * t) & (Rp - 1))
        for h in range(2):
            for mt in range(MT):
                for ntt in range(NT):
                    idx = ((h * MT + mt) * NT + ntt) * C
                    s0, s1 = int(Sw[lane, mt, ntt, 2*h]), int(Sw[lane, mt, ntt, 2*h+1])
                    if Rp == 1: v[lane, idx], v[lane, idx + 1] = (s0 << i) & M32, (s1 << i) & M32
                    else: v[lane, idx] = ((s0 << shift) + (s1 << (shift + 1))) & M32
    tStages = logRp - 1 if logRp > 1 else 0; stagesN = tStages + logR
    masks = [1 << s if s < tStages else 4 << (s - tStages) for s in range(stagesN)]
    for s, mask in enumerate(masks):
        half = NV >> (s + 1)
        send = np.zeros((32, half), dtype=np.uint64); keep = np.zeros((32, half), dtype=np.uint64)
        for lane in range(32):
            up = lane & mask
            send[lane] = v[lane, :half] if up else v[lane, half:2*half]
            keep[lane] = v[lane, half:2*half] if up else v[lane, :half]
        nv = np.zeros((32, half), dtype=np.uint64)
        for lane in range(32): nv[lane] = (keep[lane] + send[lane ^ mask]) & M32
        v = nv
    NF = NV >> stagesN
    sums, addrs = {}, [[] for _ in range(NF)]
    for lane in range(32):
        g, t = lane // 4, lane % 4
        off = sum(NV >> (s + 1) for s, mask in enumerate(masks) if lane & mask)
        for f in range(NF):
            idx = f + off
            c = idx % C; ntt = (idx // C) % NT; mt = (idx // (C * NT)) % MT; h = idx // (C * NT * MT)
            tl = (warpRow + mt*16 + 8*h + g) >> logR; nl = (warpCol + ntt*8 + 2*t + (c if Rp == 1 else 0)) >> logRp
            assert (tl, nl) not in sums, ("two owners", tl, nl)
            sums[(tl, nl)] = int(v[lane, f]); addrs[f].append(tl * stride + nl)
    return sums, addrs

M32 = (1 << 32) - 1
def check_flush_all():
    """Every (R, Rp): the flush of random counts against the direct sum over plane pairs, every
    (token, output) of the warp owned exactly once; prints the worst ysm bank conflict per store."""
    ok = True
    for logR in range(4):
        for logRp in range(4):
            R, Rp = 1 << logR, 1 << logRp
            Sw = rng.integers(0, 1 << 20, size=(32, MT, NT, 4))
            warpRow, warpCol = 64, 128  # warp 6
            sums, addrs = flush_warp(Sw, R, Rp, warpRow, warpCol)
            want = {}
            for lane in range(32):
                g, t = lane // 4, lane % 4
                for mt in range(MT):
                    for ntt in range(NT):
                        for e in range(4):
                            row = warpRow + mt*16 + g + 8*(e // 2); col = warpCol + ntt*8 + 2*t + (e % 2)
                            key = (row >> logR, col >> logRp)
                            want[key] = (want.get(key, 0) + (int(Sw[lane, mt, ntt, e]) << ((row & (R-1)) + (col & (Rp-1))))) & M32
            conflict = max(max(np.bincount(np.array(a) % 32).max() for a in addrs), 1)
            good = sums == want
            ok &= good
            print(f"flush R={R} Rp={Rp}: {'OK' if good else 'MISMATCH'}; {len(addrs)} owned sums per lane, worst ysm conflict {conflict}-way")
    return ok
def run(m, n, k, p, q, group):
    words = (k + 31) // 32; kPairs = (words + 15) // 16; wordsPad = kPairs * 16
    xc = rng.integers(0, 1 << q, size=(m, k)); wc = rng.integers(0, 1 << p, size=(n, k))
    def planes(c, bits, rows):
        P = np.zeros((bits, rows, wordsPad), dtype=np.uint64)
        for b in range(bits):
            bitsArr = (c >> b) & 1
            for w in range(words):
                seg = bitsArr[:, 32*w:32*w+32]
                P[b, :, w] = (seg.astype(np.uint64) << np.arange(seg.shape[1], dtype=np.uint64)).sum(axis=1)
        return P
    X = planes(xc, q, m); W = planes(wc, p, n)
    # tile layout (repackKernel) then weight rows (weightRowsKernel)
    nTiles = (n + 7) // 8
    tile = np.zeros((nTiles, kPairs, p, 32, 4), dtype=np.uint64)
    for nt in range(nTiles):
        for pr in range(kPairs):
            for j in range(p):
                for lane in range(32):
                    row = nt*8 + lane//4; t = lane % 4
                    for c in range(4):
                        w = pr*16 + t + 4*c
                        tile[nt, pr, j, lane, c] = W[j, row, w] if row < n and w < words else 0
    R, Rp = pow2(q), pow2(p); logR, logRp = R.bit_length()-1, Rp.bit_length()-1
    rowsPad = -(-(n * Rp) // kCtaCols) * kCtaCols
    wrows = np.zeros((rowsPad, wordsPad), dtype=np.uint64)
    for v in range(rowsPad):
        out, j = v >> logRp, v & (Rp - 1)
        for w in range(wordsPad):
            if out < n and j < p:
                wrows[v, w] = tile[out//8, w//16, j, 4*(out%8) + w%4, (w%16)//4]
    groupSize = group; groups = -(-k // groupSize); groupChunks = (1 << 30) if groupSize >= k else groupSize // 256
    tokensPerCta, outsPerCta = kCtaRows >> logR, kCtaCols >> logRp
    gx, gy = -(-m // tokensPerCta), -(-n // outsPerCta)
    result = np.zeros((m, n, groups), dtype=np.int64); written = np.zeros((m, n, groups), dtype=int)
    def swz(r, u): return r*kRowUnits + (u ^ ((r >> 1) & 3))
    for bx in range(gx):
        for by in range(gy):
            tokenBase, outBase = bx*tokensPerCta, by*outsPerCta
            S = np.zeros((WM * WN, 32, MT, NT, 4), dtype=np.int64)
            group_cur = 0; totalChunks = 2 * (wordsPad // kStageWords)
            nextBoundary = groupChunks if groups > 1 else totalChunks
            def flush(gi):
                for warp in range(WM * WN):
                    warpRow = (warp // WN) * MT * 16; warpCol = (warp % WN) * NT * 8
                    sums, _ = flush_warp(S[warp], R, Rp, warpRow, warpCol)
                    for (tl, nl), val in sums.items():
                        token, nn = tokenBase + tl, outBase + nl
                        if token < m and nn < n:
                            result[token, nn, gi] += val
                            written[token, nn, gi] += 1
                    S[warp] = 0
            for step in range(wordsPad // kStageWords):
                smem = np.zeros(((kCtaRows + kCtaCols) * kRowUnits, 4), dtype=np.uint64)
                for r in range(kCtaRows):
                    token = tokenBase + (r >> logR); plane = r & (R-1)
                    for u in range(4):
                        if token < m and plane < q:
                            smem[swz(r, u)] = X[plane, token, step*16 + 4*u: step*16 + 4*u + 4]
                for r in range(kCtaCols):
                    for u in range(4):
                        smem[kCtaRows*kRowUnits + swz(r, u)] = wrows[by*kCtaCols + r, step*16 + 4*u: step*16 + 4*u + 4]
                def ldm(addrUnits):  # addrUnits[lane] = unit index of the row lane supplies
                    outr = np.zeros((32, 4), dtype=np.uint64)
                    for lane in range(32):
                        for mm in range(4):
                            src = addrUnits[mm*8 + lane//4]
                            outr[lane, mm] = smem[src, lane % 4]
                    return outr
                for half in range(2):
                    chunk = 2*step + half
                    for warp in range(WM * WN):
                        warpRow = (warp // WN) * MT * 16; warpCol = (warp % WN) * NT * 8
                        af = []
                        for mt in range(MT):
                            addr = []
                            for lane in range(32):
                                mat = lane // 8; swzl = (lane >> 1) & 3
                                aRow = warpRow + (lane & 7) + 8*(mat & 1); aUnit = mat >> 1
                                addr.append(aRow*kRowUnits + mt*16*kRowUnits + ((2*half + aUnit) ^ swzl))
                            af.append(ldm(addr))
                        for npair in range(NT // 2):
                            addr = []
                            for lane in range(32):
                                mat = lane // 8; swzl = (lane >> 1) & 3
                                bRow = warpCol + (lane & 7) + 8*(mat >> 1); bUnit = mat & 1
                                addr.append(kCtaRows*kRowUnits + bRow*kRowUnits + npair*16*kRowUnits + ((2*half + bUnit) ^ swzl))
                            b = ldm(addr)
                            for mt in range(MT):
                                for which in range(2):
                                    # mma m16n8k256: reconstruct A (16 rows x 8 words) and B (8 cols x 8 words) from fragments
                                    A = np.zeros((16, 8), dtype=np.uint64); B = np.zeros((8, 8), dtype=np.uint64)
                                    for lane in range(32):
                                        g, t = lane // 4, lane % 4
                                        A[g, t] = af[mt][lane, 0]; A[g+8, t] = af[mt][lane, 1]
                                        A[g, 4+t] = af[mt][lane, 2]; A[g+8, 4+t] = af[mt][lane, 3]
                                        B[g, t] = b[lane, 2*which]; B[g, 4+t] = b[lane, 2*which+1]
                                    D = np.array([[sum(popc(int(A[r, w]) & int(B[c, w])) for w in range(8)) for c in range(8)] for r in range(16)])
                                    for lane in range(32):
                                        g, t = lane // 4, lane % 4
                                        S[warp, lane, mt, 2*npair+which] += [D[g, 2*t], D[g, 2*t+1], D[g+8, 2*t], D[g+8, 2*t+1]]
                    if chunk + 1 == nextBoundary:
                        flush(group_cur); group_cur += 1
                        nextBoundary = nextBoundary + groupChunks if group_cur + 1 < groups else totalChunks
    ref = np.zeros((m, n, groups), dtype=np.int64)
    for gi in range(groups):
        k0, k1 = gi*groupSize, min(k, (gi+1)*groupSize)
        ref[:, :, gi] = (xc[:, k0:k1] @ wc[:, k0:k1].T)
    ok = np.array_equal(ref, result) and (written == 1).all()
    print(f"W{p}A{q} M={m} N={n} K={k} group={group}: {'OK' if ok else 'MISMATCH'}", flush=True)
    if not ok:
        bad = np.argwhere(ref != result)[:3]; print(bad, [ (ref[tuple(x)], result[tuple(x)]) for x in bad], (written != 1).sum())
    return ok
cases = [(150, 300, 1100, 2, 2, 512), (70, 90, 300, 1, 2, 300), (20, 40, 600, 2, 2, 600), (9, 70, 300, 3, 3, 300), (5, 33, 520, 1, 1, 256), (3, 20, 70, 8, 8, 70), (7, 17, 1030, 4, 5, 512), (33, 9, 100, 1, 8, 100), (2, 130, 64, 8, 1, 64), (17, 65, 600, 2, 4, 600)]
if len(sys.argv) > 2 and sys.argv[2] == 'flush':
    sys.exit(0 if check_flush_all() else 1)
sel = cases[int(sys.argv[2])] if len(sys.argv) > 2 else None
results = [check_flush_all()] if sel is None else []
results += [run(*c) for c in ([sel] if sel is not None else cases)]
sys.exit(0 if all(results) else 1)

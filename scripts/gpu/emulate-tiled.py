"""Lane-level CPU emulation of btcTiledKernel's index math (gpu-node/csrc/btc-tiled-kernel.cuh).

Emulates, per CTA, warp and lane: the weight-row repack from the fragment tile layout, the cp.async
stage fill with the XOR swizzle, ldmatrix.x4 fragment delivery (PTX semantics: lane l gets word l%4 of
row l/4 of each 8x8 b16 matrix), m16n8k256 AND.POPC with accumulation in C, and flush() (2^(i+j)
shifts, xor-shuffle sums, owner lanes), and compares the integer group accumulators with codes @ codes^T.
It checks the layout and reduction logic without a GPU (not the PTX itself, not timing); run it after
changing the tile constants or the swizzle. Needs numpy. Slow (pure Python): small shapes only.

    python3 scripts/gpu/emulate-tiled.py [SEED] [CASE_INDEX]
"""
import numpy as np, sys
rng = np.random.default_rng(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
# Mirrors the constexpr constants of btc-tiled-kernel.cuh (change both together).
kCtaRows, kCtaCols, kRowUnits, kStageWords = 128, 256, 4, 16
WM, WN, MT, NT = 2, 4, 4, 8
def pow2(v):
    r = 1
    while r < v: r *= 2
    return r
def popc(x): return bin(int(x)).count('1')
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
            S = np.zeros((8, 32, MT, NT, 4), dtype=np.int64)
            group_cur = 0
            def flush(gi):
                for warp in range(8):
                    warpRow = (warp // WN) * MT * 16; warpCol = (warp % WN) * NT * 8
                    for mt in range(MT):
                        for ntt in range(NT):
                            for h in range(2):
                                vals = {}
                                for lane in range(32):
                                    g, t = lane // 4, lane % 4; i = g & (R-1)
                                    col = warpCol + ntt*8 + 2*t
                                    s0, s1 = S[warp, lane, mt, ntt, 2*h], S[warp, lane, mt, ntt, 2*h+1]
                                    if Rp == 1: vals[lane] = [s0 << i, s1 << i]
                                    else:
                                        j = col & (Rp-1); vals[lane] = [(s0 << (i+j)) + (s1 << (i+j+1)), 0]
                                if Rp > 1:
                                    off = 1
                                    while off < Rp//2:
                                        vals = {l: [vals[l][0] + vals[l ^ off][0], 0] for l in range(32)}; off <<= 1
                                off = 4
                                while off < 4*R:
                                    vals = {l: [vals[l][0] + vals[l ^ off][0], vals[l][1] + vals[l ^ off][1]] for l in range(32)}; off <<= 1
                                for lane in range(32):
                                    g, t = lane // 4, lane % 4; i = g & (R-1)
                                    row = warpRow + mt*16 + g + 8*h; col = warpCol + ntt*8 + 2*t
                                    owner = i == 0 and (Rp <= 2 or (t & (Rp//2 - 1)) == 0)
                                    tl = row >> logR; token = tokenBase + tl
                                    if owner and token < m:
                                        for c in range(2 if Rp == 1 else 1):
                                            nl = (col + c) >> logRp; nn = outBase + nl
                                            if nn < n:
                                                result[token, nn, gi] += vals[lane][c] & 0xffffffff
                                                written[token, nn, gi] += 1
                                S[warp, :, mt, ntt, 2*h:2*h+2] = 0
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
                    cg = min(chunk // groupChunks, groups - 1)
                    if cg != group_cur: flush(group_cur); group_cur = cg
                    for warp in range(8):
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
            flush(group_cur)
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
sel = cases[int(sys.argv[2])] if len(sys.argv) > 2 else None
results = [run(*c) for c in ([sel] if sel is not None else cases)]
sys.exit(0 if all(results) else 1)

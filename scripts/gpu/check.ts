/**
 * GPU correctness check: the CUDA addon against the TypeScript reference (shared/numerics) on fresh
 * random inputs. Bit-exact: activation planes, scales, zeros, code sums and the integer accumulators
 * for every (p, q) in 1..8 x 1..8 over ragged shapes (M = 1, 3, 17, 64, 100, 2048) and decode shapes (M = 1..16,
 * several 16-output CTAs, K over every warp of a CTA: the CTA-local and wide decode kernels), plus activation-side cases
 * for the many-token quantize kernel (every q, K % 8 == 0 or not, power-of-two weight groups); the tiled large-M kernel
 * (M >= 64, epilogue fused) must give the same fp16 bits as the split-K kernel + separate epilogue whose
 * accumulators are checked bit-exact, for every (p, q) at M = 64/100 and ragged N/K; fp16 outputs within
 * rounding; weight-only (A16) outputs within fp16 rounding of the f32 reference; repeated runs
 * identical. Prints one line per failure and a summary; exit code 1 on any failure.
 *
 *   node check.mjs [--quick] [--seed N]        (bundled by scripts/gpu/run-all.sh; needs a GPU)
 */
import { packBitPlanes, wordsPerRow } from '../../shared/format/bitplanes.ts';
import { decodeF16, encodeF16, roundToF16 } from '../../shared/format/f16.ts';
import { quantizeActivationsRef } from '../../shared/numerics/act-quant.ts';
import { bitGemmAccRef, bitGemmEpilogueRef, codeGemmAccRef, weightCodeSumsFromPlanes } from '../../shared/numerics/bitgemm-ref.ts';
import { A16, PackedLinearRef, type PackedWeights } from '../../shared/numerics/packed-linear-ref.ts';
import { Rng } from '../../shared/util/rng.ts';
import { CudaLinear } from '../../gpu-node/src/cuda-linear.ts';
import { loadCudaBackend } from '../../gpu-node/src/load-cuda-backend.ts';

const TOKENS = [1, 3, 17, 64, 100, 2048];
/** Token counts at which the plan takes the shared-memory tiled kernel (the first is kTiledMinTokens = 32). */
const TILED_TOKENS = [32, 64, 100, 2048];
/** kTiledMinPlaneRows: fewer tokens also take the tiled kernel from this many plane rows (M x R). */
const TILED_MIN_PLANE_ROWS = 64;
/** Activation plane rows per token (btc-gemm.cu rowsPerToken): the next power of two >= q. */
function rowsPerToken(q: number): number {
  return q <= 1 ? 1 : q <= 2 ? 2 : q <= 4 ? 4 : 8;
}
/**
 * Large-M kernel choice, as btcPlan makes it (btc-gemm.cu tiledMode): ABQ_BTC_TILED=1 takes the tiled
 * kernel for every (p, q) (run-all.sh checks this way, so every width of it is verified), 0 never,
 * unset the measured table.
 */
const TILED_MODE = process.env.ABQ_BTC_TILED === '1' ? 'always' : process.env.ABQ_BTC_TILED === '0' ? 'never' : 'table';
/** btc-gemm.cu tiledByDefault: where the tiled kernel measured faster than split-K (NOTES.md v6): every (p, q) now. */
function tiledByDefault(_p: number, _q: number): boolean {
  return true;
}
/** (p, q) widths checked at M = 2048 with several CTA tiles along N and K stages (the tiled kernel's edges). */
const TILED_LARGE_WIDTHS: ReadonlyArray<[number, number]> = [[1, 1], [2, 2], [2, 4], [3, 3], [4, 4], [3, 8], [8, 8], [5, 7]];
const RAGGED_K = [1, 31, 33, 300, 513, 1000, 2049, 4133, 8200];
/** Literal popcount oracle up to this many word-pair products; above, the code-product oracle (same integers). */
const LITERAL_ORACLE_LIMIT = 4e7;
/** fp16 output tolerance: fp16 rounding of y (2^-11) plus f32 summation, relative to the row's scale. */
const Y_REL_TOL = 2e-3;

interface Case { p: number; q: number; m: number; n: number; k: number; group: number; actGroup: number }

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const seedArg = args.indexOf('--seed');
const seed = seedArg >= 0 ? Number(args[seedArg + 1]) : (Date.now() ^ (process.pid << 16)) >>> 0;
const rng = new Rng(seed);
const failures: string[] = [];
let checks = 0;

function fail(c: Case | string, what: string): void {
  const tag = typeof c === 'string' ? c : `W${c.p}A${c.q} M=${c.m} N=${c.n} K=${c.k} group=${c.group} actGroup=${c.actGroup}`;
  failures.push(`${tag}: ${what}`);
  console.log(`FAIL ${tag}: ${what}`);
}

function randomWeights(n: number, k: number, bits: number, group: number): { w: PackedWeights; codes: Uint8Array } {
  const codes = new Uint8Array(n * k);
  for (let i = 0; i < codes.length; i++) codes[i] = rng.nextU32() & ((1 << bits) - 1);
  const groups = Math.ceil(k / group);
  const scales = new Float32Array(n * groups);
  const zeros = new Uint8Array(n * groups);
  for (let i = 0; i < scales.length; i++) {
    scales[i] = roundToF16(2 ** -8 * (1 + rng.next() * 4));
    zeros[i] = rng.int(0, (1 << bits) - 1);
  }
  return { w: { n, k, bits, groupSize: group, planes: packBitPlanes(codes, n, k, bits), scales, zeros }, codes };
}

/** Random activations, already fp16 values (what the kernel reads), with an outlier now and then. */
function randomActivations(m: number, k: number): { f16: Uint16Array; f32: Float32Array } {
  const x = new Float32Array(m * k);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal() * (rng.next() < 0.01 ? 20 : 1);
  const f16 = encodeF16(x);
  return { f16, f32: decodeF16(f16) };
}

function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>, n: number): number {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function compareY(c: Case | string, y: Float32Array, ref: Float32Array, m: number, n: number, relTol: number): void {
  for (let r = 0; r < m; r++) {
    let rowMax = 0;
    for (let j = 0; j < n; j++) rowMax = Math.max(rowMax, Math.abs(ref[r * n + j]));
    for (let j = 0; j < n; j++) {
      const e = Math.abs(y[r * n + j] - ref[r * n + j]);
      const tol = relTol * Math.abs(ref[r * n + j]) + 1e-3 * relTol * rowMax + 1e-6;
      if (!(e <= tol)) {
        fail(c, `y[${r}][${j}] = ${y[r * n + j]}, reference ${ref[r * n + j]} (|err| ${e.toExponential(2)} > ${tol.toExponential(2)})`);
        return;
      }
    }
  }
}

async function checkBtc(c: Case): Promise<void> {
  const { w, codes } = randomWeights(c.n, c.k, c.p, c.group);
  const { f16, f32 } = randomActivations(c.m, c.k);
  const layer = await CudaLinear.create(w, { bits: c.q, groupSize: c.actGroup });
  try {
    // Debug runs read the accumulators before a separate epilogue; plain runs use the plan's own path
    // (for decode, the epilogue fused into the BTC kernel), which must give the same bits.
    const out = await layer.forwardF16(f16, c.m, true);
    const plain = await layer.forwardF16(f16, c.m);
    const again = await layer.forwardF16(f16, c.m);
    const d = out.debug!;
    const qa = quantizeActivationsRef(f32, c.m, c.k, c.q, c.actGroup, c.group);
    const wpr = wordsPerRow(c.k);
    const refPlanes = packBitPlanes(qa.codes, c.m, c.k, c.q);
    checks++;
    for (let i = 0; i < c.q; i++) {
      for (let r = 0; r < c.m; r++) {
        const got = d.actPlanes.subarray((i * c.m + r) * d.wordsPad, (i * c.m + r) * d.wordsPad + wpr);
        const want = refPlanes.subarray((i * c.m + r) * wpr, (i * c.m + r + 1) * wpr);
        const at = firstMismatch(got, want, wpr);
        if (at >= 0) return fail(c, `activation plane ${i} token ${r} word ${at}: ${got[at]} != ${want[at]}`);
      }
    }
    let at = firstMismatch(d.actScales, qa.scales, qa.scales.length);
    if (at >= 0) return fail(c, `activation scale ${at}: ${d.actScales[at]} != ${qa.scales[at]}`);
    at = firstMismatch(d.actZeros, qa.zeros, qa.zeros.length);
    if (at >= 0) return fail(c, `activation zero ${at}: ${d.actZeros[at]} != ${qa.zeros[at]}`);
    at = firstMismatch(d.actSums, qa.sums, qa.sums.length);
    if (at >= 0) return fail(c, `activation code sum ${at}: ${d.actSums[at]} != ${qa.sums[at]}`);
    const groups = Math.ceil(c.k / c.group);
    const literalCost = c.m * c.n * c.p * c.q * wpr;
    const acc = literalCost <= LITERAL_ORACLE_LIMIT
      ? bitGemmAccRef(refPlanes, c.q, w.planes, c.p, c.m, c.n, c.k, c.group)
      : codeGemmAccRef(qa.codes, codes, c.m, c.n, c.k, c.group);
    at = firstMismatch(d.acc, acc, c.m * c.n * groups);
    if (at >= 0) {
      const g = at % groups, col = Math.floor(at / groups) % c.n, row = Math.floor(at / groups / c.n);
      return fail(c, `accumulator [m=${row}][n=${col}][g=${g}] = ${d.acc[at]}, reference ${acc[at]} (plan ${out.plan})`);
    }
    const wSums = weightCodeSumsFromPlanes(w.planes, c.p, c.n, c.k, c.group);
    const ref = bitGemmEpilogueRef(acc, qa, { scales: w.scales, zeros: w.zeros, sums: wSums }, c.m, c.n, c.k, c.group);
    compareY(c, decodeF16(out.y), ref, c.m, c.n, Y_REL_TOL);
    const yAt = firstMismatch(out.y, plain.y, out.y.length);
    if (yAt >= 0) {
      return fail(c, `plan ${plain.plan} differs from the debug path's output at y[${Math.floor(yAt / c.n)}][${yAt % c.n}]: ` +
        `${decodeF16(plain.y.subarray(yAt, yAt + 1))[0]} != ${decodeF16(out.y.subarray(yAt, yAt + 1))[0]}`);
    }
    const manyRows = c.m >= TILED_TOKENS[0] || c.m * rowsPerToken(c.q) >= TILED_MIN_PLANE_ROWS;
    const wantTiled = manyRows && !plain.plan.startsWith('generic') &&
      (TILED_MODE === 'always' || (TILED_MODE === 'table' && tiledByDefault(c.p, c.q)));
    if (wantTiled !== plain.plan.startsWith('btc-tiled')) fail(c, `unexpected plan ${plain.plan} for M=${c.m}`);
    if (firstMismatch(plain.y, again.y, plain.y.length) >= 0) fail(c, `two runs on the same input differ (plan ${plain.plan})`);
  } finally {
    layer.dispose();
  }
}

async function checkA16(c: Case): Promise<void> {
  const { w } = randomWeights(c.n, c.k, c.p, c.group);
  const { f16, f32 } = randomActivations(c.m, c.k);
  const layer = await CudaLinear.create(w, { bits: A16, groupSize: 0 });
  try {
    const out = await layer.forwardF16(f16, c.m);
    const again = await layer.forwardF16(f16, c.m);
    checks++;
    const ref = new PackedLinearRef(w, { bits: A16, groupSize: 0 }).forward(f32, c.m);
    // a16-gemm.cu: the decode GEMV for M <= 16 unless switched off for an A/B run.
    const wantGemv = c.m <= 16 && process.env.ABQ_A16_GEMV !== '0';
    if (wantGemv !== out.plan.startsWith('a16-gemv')) fail({ ...c, q: 16 }, `unexpected plan ${out.plan} for M=${c.m}`);
    // f16 inputs, f32 sums in another order: relative error ~ sqrt(K) * 2^-24 plus the fp16 output rounding.
    compareY({ ...c, q: 16 }, decodeF16(out.y), ref, c.m, c.n, 4e-3);
    if (firstMismatch(out.y, again.y, out.y.length) >= 0) fail({ ...c, q: 16 }, `two runs differ (plan ${out.plan})`);
  } finally {
    layer.dispose();
  }
}

async function checkErrors(): Promise<void> {
  const { w } = randomWeights(8, 64, 4, 64);
  const layer = await CudaLinear.create(w, { bits: 8, groupSize: 0 });
  checks++;
  try {
    await layer.forwardF16(new Uint16Array(10), 1);
    fail('errors', 'a short x was accepted');
  } catch (e) {
    if (!/M=1 N=8 K=64/.test((e as Error).message)) fail('errors', `shape error does not name the shape: ${(e as Error).message}`);
  }
  layer.dispose();
  try {
    await layer.forwardF16(new Uint16Array(64), 1);
    fail('errors', 'forward after dispose was accepted');
  } catch (e) {
    if (!/disposed/.test((e as Error).message)) fail('errors', `unexpected message: ${(e as Error).message}`);
  }
}

function pick<T>(xs: readonly T[]): T {
  return xs[rng.int(0, xs.length - 1)];
}

function btcCases(): Case[] {
  const cases: Case[] = [];
  let t = 0;
  for (let p = 1; p <= 8; p++) {
    for (let q = 1; q <= 8; q++) {
      const m = quick ? pick([1, 3, 17]) : TOKENS[t++ % TOKENS.length];
      const n = m >= 2048 ? rng.int(9, 40) : rng.int(1, quick ? 40 : 130);
      const k = m >= 2048 ? pick([33, 300, 513]) : quick ? pick([31, 300, 1000]) : pick(RAGGED_K);
      // Weight groups: per channel (tiled kernel), multiples of 256 (tiled, grouped), 64/96 (generic kernel).
      const groupKind = rng.int(0, 3);
      let group = k;
      if (groupKind === 1 && k > 256) group = 256 * rng.int(1, Math.max(1, Math.floor(k / 512)));
      if (groupKind === 2 && k > 64) group = pick([64, 96]);
      const actGroup = group < k && rng.next() < 0.3 ? group * 2 : k;
      cases.push({ p, q, m, n, k, group, actGroup });
    }
  }
  return cases;
}

/** Extra cases for the tiled kernel: every (p, q) at M = 32 or 64, and wide/deep shapes at M = 2048. */
function tiledCases(): Case[] {
  const cases: Case[] = [];
  const group = (k: number): number => (k > 512 && rng.next() < 0.5 ? 256 * rng.int(1, Math.floor(k / 512)) : k);
  for (let p = 1; p <= 8; p++) {
    for (let q = 1; q <= 8; q++) {
      if (quick && (p + q) % 8 !== 0) continue;  // 7 widths under the sanitizers
      const m = quick ? 64 : pick(TILED_TOKENS.slice(0, 2));
      const k = quick ? pick([33, 600]) : pick([33, 513, 1000, 2049]);
      const g = group(k);
      cases.push({ p, q, m, n: rng.int(1, quick ? 300 : 600), k, group: g, actGroup: g < k && rng.next() < 0.3 ? 2 * g : k });
    }
  }
  if (quick) return cases;
  for (const [p, q] of TILED_LARGE_WIDTHS) {
    const k = pick([300, 1000]);
    cases.push({ p, q, m: 2048, n: rng.int(257, 520), k, group: group(k), actGroup: k });
  }
  return cases;
}

/**
 * Decode shapes (M <= 16): the one-fragment decode kernels (M x R <= 8) and, with ABQ_BTC_DECODE_WIDE=1, the wide
 * one (8 < M x R <= 128, p <= 4), over N that leaves the last 16-output tile ragged and K long enough that every
 * warp of a CTA-local kernel gets several K pairs (and some none), per channel or in groups of 256 multiples.
 */
function decodeCases(): Case[] {
  const cases: Case[] = [];
  for (let p = 1; p <= 8; p++) {
    for (let q = 1; q <= 8; q++) {
      if (quick && (p + q) % 4 !== 0) continue;
      const m = pick([1, 2, 3, 5, 8, 9, 12, 16]);
      const k = pick(quick ? [300, 2049, 4133] : [300, 2049, 4133, 8200]);
      const group = k > 512 && rng.next() < 0.4 ? 256 * rng.int(1, Math.floor(k / 512)) : k;
      cases.push({ p, q, m, n: rng.int(17, quick ? 100 : 300), k, group, actGroup: group < k && rng.next() < 0.3 ? 2 * group : k });
    }
  }
  return cases;
}

/**
 * Activation quantize + pack by act-quant-warp.cuh (warps per token, one plane word per lane):
 * every activation width, K with and without a partial last word (K % 8 == 0 is that kernel's
 * condition), per-channel and power-of-two weight groups (its code sums), and M that leaves CTAs
 * partly empty. checkBtc compares planes, scales, zeros and sums bit for bit. N is small: the
 * activation side is what these cases are for.
 */
function actQuantCases(): Case[] {
  const cases: Case[] = [];
  for (let q = 1; q <= 8; q++) {
    for (let r = 0; r < (quick ? 1 : 2); r++) {
      const m = pick(quick ? [1, 16, 33] : [1, 3, 16, 33, 100, 2048]);
      const k = pick(m >= 2048 ? [8, 1000, 1032] : [8, 64, 1000, 1032, 4096]);
      const group = pick([k, k, 32, 64, 256, 1024].filter((g) => g <= k));
      cases.push({ p: rng.int(1, 8), q, m, n: rng.int(1, 24), k, group, actGroup: k });
    }
  }
  return cases;
}

function a16Cases(): Case[] {
  const cases: Case[] = [];
  for (let p = 1; p <= 8; p++) {
    for (const m of quick ? [1, 5, 12] : [1, 3, 8, 13, 16, 17, 100]) {
      const k = quick ? pick([64, 300]) : pick([40, 300, 1000, 4133, 8200]);
      const group = pick([k, 64, 128, 192].filter((g) => g <= k));
      // Wide layers too: the decode GEMV runs one CTA per 16 rows and splits K over its warps.
      const n = m <= 16 && rng.int(0, 2) === 0 ? rng.int(200, 700) : rng.int(1, 90);
      cases.push({ p, q: A16, m, n, k, group, actGroup: k });
    }
  }
  return cases;
}

async function main(): Promise<void> {
  const backend = loadCudaBackend();
  if (!backend.available) {
    console.log(backend.reason);
    process.exitCode = 1;
    return;
  }
  console.log(`device: ${backend.device.name} (sm ${backend.device.computeCapability}, ${backend.device.smCount} SMs); seed ${seed}${quick ? '; quick' : ''}; tiled kernel: ${TILED_MODE}`);
  const t0 = performance.now();
  for (const c of [...btcCases(), ...decodeCases(), ...tiledCases(), ...actQuantCases()]) {
    await checkBtc(c);
  }
  for (const c of a16Cases()) await checkA16(c);
  await checkErrors();
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`check: ${checks} cases, ${failures.length} failures, ${s} s (seed ${seed})`);
  if (failures.length) process.exitCode = 1;
}

await main();

/**
 * Turns the GPU benchmark's JSON lines (abq-gpu-bench + scripts/gpu/baselines.py) into the
 * docs/BENCHMARKS.md section and a short target summary, printed last.
 *
 *   tsx scripts/gpu/bench-table.ts BENCH.jsonl BASELINES.jsonl [--md OUT.md] [--write-doc] [--command "..."]
 *     [--date YYYY-MM-DD] [--logs check.log,memcheck.log,racecheck.log]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { replaceBenchSection } from '../lib/bench-doc.ts';

/** Binary tensor-core peak of the instruction the kernels use, mma.sync m16n8k256 AND.POPC on the H100
 *  (DESIGN.md; wgmma m64nNk256 reaches 15.4 P, not used yet). */
const BTC_PEAK_OPS = 10.3e15;
/** Large-M target: this share of BTC_PEAK_OPS / (p q) for the few-bit configs below. */
const PEAK_TARGET = 0.75;
const PEAK_TARGET_CONFIGS = new Set(['W2A2', 'W2A4', 'W3A3']);
const LLAMA70B_SHAPES = new Set(['8192x8192', '28672x8192', '8192x28672']);
const BW_TARGET = 0.85;
const SMALL_BATCH_TARGET = 1.3;

interface Header { device: string; sm: number; copyBytesPerSec: number; runtime: number; driver: number }
interface BenchRow {
  n: number; k: number; m: number; config: string; p: number; q: number; group: number; plan: string;
  quantUs: number; gemmUs: number; totalUs: number; iters: number; weightBytes: number;
}
interface BaseRow { n: number; k: number; m: number; fp16Us: number; int8Us: number | null; int8M: number }

function readLines<T>(file: string): T[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as T);
}

const fmt = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '-');

export function buildReport(bench: (Header | BenchRow)[], base: BaseRow[], command: string, date: string): { markdown: string; summary: string } {
  const header = bench.find((r): r is Header => 'device' in r);
  const rows = bench.filter((r): r is BenchRow => 'config' in r);
  if (!header) throw new Error('benchmark output has no device header line (was abq-gpu-bench interrupted?)');
  const copyBw = header.copyBytesPerSec;
  const baseOf = (r: BenchRow): BaseRow | undefined => base.find((b) => b.n === r.n && b.k === r.k && b.m === r.m);
  const lines: string[] = [];
  lines.push(`Command: \`${command}\`. Machine: ${header.device} (${header.sm} SMs, CUDA runtime ${header.runtime}, driver ${header.driver}), ${date}.`);
  lines.push(`Measured device-to-device copy: ${fmt(copyBw / 1e12, 2)} TB/s (bytes read + written). Weights are **synthetic** (random bit planes);`);
  lines.push('each measurement rotates through layer copies totalling over 160 MB (> 3x L2). Times are CUDA-event medians in microseconds.');
  lines.push('`quant` = activation quantize + pack, `gemm` = accumulate + epilogue (A16: the whole product), `e2e` = both.');
  lines.push('GB/s and % copy use the packed weight bytes (p N K / 8) over `gemm`; TOPS = 2 M N K / `e2e`; speedups are cuBLAS time / `e2e`');
  lines.push('(cuBLAS through PyTorch in the same run: fp16 `F.linear`, int8 `torch._int_mm`, which needs M > 16: smaller M ran padded to 17 rows).');
  lines.push('');
  lines.push('| N x K | M | config | plan | quant us | gemm us | e2e us | weight GB/s | % copy | TOPS | vs cuBLAS fp16 | vs cuBLAS int8 |');
  lines.push('|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const b = baseOf(r);
    const gbs = r.weightBytes / (r.gemmUs * 1e-6);
    const tops = (2 * r.m * r.n * r.k) / (r.totalUs * 1e-6) / 1e12;
    lines.push(`| ${r.n}x${r.k} | ${r.m} | ${r.config} | ${r.plan} | ${fmt(r.quantUs)} | ${fmt(r.gemmUs)} | ${fmt(r.totalUs)} | ${fmt(gbs / 1e9, 0)} | ${fmt((100 * gbs) / copyBw, 0)}% | ${fmt(tops, 1)} | ${b ? fmt(b.fp16Us / r.totalUs, 2) : '-'} | ${b?.int8Us ? fmt(b.int8Us / r.totalUs, 2) : '-'} |`);
  }

  // Targets.
  const configs = [...new Set(rows.map((r) => r.config))];
  const summary: string[] = ['| config | M=1 70B-layer % copy (min) | >= 85% | M<=16 / M=1 (max, <= 4-bit) | M=2048 vs int8 (min) | M=2048 % mma.sync BTC peak/(pq) (min, >= 75% for W2A2/W2A4/W3A3) |', '|---|---:|---|---:|---:|---:|'];
  for (const c of configs) {
    const rc = rows.filter((r) => r.config === c);
    const m1 = rc.filter((r) => r.m === 1 && LLAMA70B_SHAPES.has(`${r.n}x${r.k}`));
    const bwShare = m1.length ? Math.min(...m1.map((r) => r.weightBytes / (r.gemmUs * 1e-6) / copyBw)) : NaN;
    let ratio = NaN;
    if (rc[0].p <= 4) {
      ratio = Math.max(...rc.filter((r) => r.m > 1 && r.m <= 16).map((r) => {
        const one = rc.find((o) => o.m === 1 && o.n === r.n && o.k === r.k);
        return one ? r.totalUs / one.totalUs : NaN;
      }));
    }
    const big = rc.filter((r) => r.m === 2048);
    const minOf = (xs: number[]): number => (xs.length ? Math.min(...xs) : NaN);
    const vsInt8 = minOf(big.map((r) => { const b = baseOf(r); return b?.int8Us ? b.int8Us / r.totalUs : NaN; }));
    const peakShare = rc[0].q <= 8 ? minOf(big.map((r) => (2 * r.m * r.n * r.k) / (r.totalUs * 1e-6) / (BTC_PEAK_OPS / (r.p * r.q)))) : NaN;
    const verdict = (x: number, ok: boolean): string => (Number.isFinite(x) ? (ok ? 'met' : 'not met') : 'n/a');
    const num = (x: number, unit: string, d: number): string => (Number.isFinite(x) ? `${fmt(x, d)}${unit} ` : '');
    summary.push(`| ${c} | ${num(100 * bwShare, '%', 0)}| ${verdict(bwShare, bwShare >= BW_TARGET)} | ${num(ratio, 'x', 2)}${verdict(ratio, ratio <= SMALL_BATCH_TARGET)} | ${num(vsInt8, 'x', 2)}${verdict(vsInt8, vsInt8 >= 1)} | ${num(100 * peakShare, '%', 0) || 'n/a'}${PEAK_TARGET_CONFIGS.has(c) ? verdict(peakShare, peakShare >= PEAK_TARGET) : ''} |`);
  }
  const summaryText = summary.join('\n');
  const markdown = ['### Targets', '', summaryText, '', '### All measurements', '', ...lines].join('\n');
  return { markdown, summary: summaryText };
}

export function main(): void {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  const [benchFile, baseFile] = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  if (!benchFile || !baseFile) throw new Error('usage: bench-table.ts BENCH.jsonl BASELINES.jsonl [--md OUT.md] [--write-doc] [--command "..."] [--date YYYY-MM-DD]');
  const command = opt('--command') ?? 'bash scripts/gpu/run-all.sh';
  const date = opt('--date') ?? new Date().toISOString().slice(0, 10);
  const report = buildReport(readLines(benchFile), readLines(baseFile), command, date);
  const { summary } = report;
  let { markdown } = report;
  // Correctness lines of the same run (check.log, memcheck.log, racecheck.log), quoted as they are.
  const logs = (opt('--logs') ?? '').split(',').filter(Boolean);
  const checkLines = logs.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => /^check:|ERROR SUMMARY|RACECHECK SUMMARY/.test(l)));
  if (checkLines.length) markdown = `### Correctness in the same run\n\n${checkLines.map((l) => `- \`${l.replace(/^=+ /, '')}\``).join('\n')}\n\n${markdown}`;
  const md = opt('--md');
  if (md) writeFileSync(md, `${markdown}\n`);
  if (args.includes('--write-doc')) replaceBenchSection('gpu-btc-kernels', `## GPU kernels (CUDA, BTC arbitrary-bit GEMM/GEMV)\n\n${markdown}`);
  console.log(summary);
}

if (process.argv[1] && /bench-table\.(ts|mjs|js)$/.test(process.argv[1])) main();

/**
 * Writes the "GPU engine" section of docs/BENCHMARKS.md from abq-engine-bench's JSON lines (fetched
 * from the GPU machine's $OUT), and prints the table.
 *
 *   tsx scripts/gpu/engine-bench-table.ts <engine-bench.jsonl> --device "<name, copy BW>" [--check <engine-check.log>] [--no-write]
 */
import { readFileSync } from 'node:fs';
import { replaceBenchSection } from '../lib/bench-doc.ts';

interface Row {
  config: string; dense: string; description: string; weightGB: number; kvGB: number; workspaceGB: number; numBlocks: number;
  streamBytes: number; copyBW: number; bwShareB1: number; graphs: number; [key: string]: unknown;
}

const TARGET_B1: Record<string, number> = { 'W4A16 g128': 600, W2A8: 1000 };
const TARGET_B32_OVER_B1 = 8;
const CHECK_LINE_CHARS = 230;

function n(v: unknown, digits = 0): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-';
}

export function engineTable(rows: Row[]): string {
  const fp16 = rows.find((r) => r.config === 'fp16');
  const head = '| config | decode b1 tok/s | b8 | b32 | b64 | b32 / b1 | prefill 512 tok/s | prefill 2048 tok/s | TTFT 512 (ms) | TTFT 2048 (ms) | weights GB | KV GB (blocks) | workspace GB | weight bytes / step | share of copy BW at b1 | vs fp16 b1 |';
  const sep = '|' + '---|'.repeat(16);
  const lines = rows.map((r) => {
    const b1 = r.decode_b1_tps as number, b32 = r.decode_b32_tps as number;
    return `| ${r.config}${r.config === 'fp16' ? ` (${r.dense})` : ''} | ${n(b1)} | ${n(r.decode_b8_tps)} | ${n(b32)} | ${n(r.decode_b64_tps)} | ${b1 && b32 ? (b32 / b1).toFixed(1) + 'x' : '-'} | ${n(r.prefill_512_tps)} | ${n(r.prefill_2048_tps)} | ${n(r.prefill_512_ms, 1)} | ${n(r.prefill_2048_ms, 1)} | ${n(r.weightGB, 2)} | ${n(r.kvGB, 1)} (${r.numBlocks}) | ${n(r.workspaceGB, 2)} | ${(r.streamBytes / 1e9).toFixed(2)} GB | ${(r.bwShareB1 * 100).toFixed(0)}% | ${fp16 && b1 ? (b1 / (fp16.decode_b1_tps as number)).toFixed(2) + 'x' : '-'} |`;
  });
  const targets = rows.filter((r) => r.config !== 'fp16').map((r) => {
    const b1 = r.decode_b1_tps as number, b32 = r.decode_b32_tps as number;
    const t = TARGET_B1[r.config];
    const parts = [`${r.config}: b32/b1 ${b1 && b32 ? (b32 / b1).toFixed(1) : '-'}x (target >= ${TARGET_B32_OVER_B1}x: ${b1 && b32 && b32 / b1 >= TARGET_B32_OVER_B1 ? 'met' : 'missed'})`];
    if (t) parts.push(`b1 ${n(b1)} tok/s (target >= ${t}: ${b1 >= t ? 'met' : 'missed'})`);
    return `- ${parts.join('; ')}`;
  });
  return [head, sep, ...lines, '', 'Targets:', ...targets].join('\n');
}

function main(argv: string[]): void {
  const file = argv[0];
  if (!file) throw new Error('pass the engine-bench.jsonl file');
  const opt = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const rows = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Row);
  const table = engineTable(rows);
  console.log(table);
  if (argv.includes('--no-write')) return;
  const check = opt('--check');
  const checkLines = check
    ? readFileSync(check, 'utf8').split('\n').filter((l) => /^(engine-check|stress|FAIL|createCudaBackend|stories\S* \[)/.test(l)).map((l) => (l.length > CHECK_LINE_CHARS ? `${l.slice(0, CHECK_LINE_CHARS)} ...` : l))
    : [];
  const md = [
    '## GPU engine (CUDA, whole forward pass; synthetic LLaMA-2-7B shape)',
    '',
    'Command (GPU machine): `bash scripts/gpu/run-all.sh engine` (abq-engine-bench; checks by scripts/gpu/engine-check.ts against',
    '`scripts/gpu/engine-expect.ts` fixtures). Table written by `tsx scripts/gpu/engine-bench-table.ts`.',
    `Device: ${opt('--device') ?? 'see run log'}; date ${new Date().toISOString().slice(0, 10)}. One run; medians of ${24} decode steps (CUDA graphs) and 1-3 prefill runs.`,
    '',
    'Model: **synthetic** (random packed weights, LLaMA-2-7B shape: dim 4096, 32 layers, 32 heads, FFN 11008, vocab 32000), lm_head fp16 in every row,',
    'A<=8 configs per-channel weights and per-token activations; decode at context 128..152; prefill = one sequence, TTFT = the prefill step incl. lm_head and sampling.',
    'The fp16 row runs every linear dense fp16 in the same engine (cuBLAS through dlopen when found, else the engine\'s own dense kernel, named in the row).',
    '',
    table,
    '',
    'Batch 1 is latency-bound, not bandwidth-bound. Decode steps at <= 64 rows spread each norm/SwiGLU+quantize row over a cluster of',
    '8 CTAs and finish the o, gate_up and down epilogues inside the next layer\'s prep (checked bit-exact against the unfused path in',
    'the same run: "fuseCheck" in the JSON). The eager per-op profile of a W2A8 b1 step still shows ~30 us per layer of attention',
    '(32 CTAs at b1) and ~27 / 28 / 17 / 32 us for qkv / gate_up / o / down (prep + GEMV + epilogue), against a weight-stream floor of',
    '~17 us per layer: see gpu-node/NOTES.md (Engine) for the breakdown and the next steps. Prefill at 512-2048 tokens is bound by the',
    'split-K GEMMs (weights streamed once per 8-16 tokens) and by attention without query tiling. W4A16 workspace: each weight-only',
    'layer now reserves its split-K partials for every M up to the 256-token chunk at load (a fix; see NOTES), 3.5 GB more than before.',
    '',
    ...(checkLines.length ? ['Correctness run in the same session (stories260K configs, `engine-check`):', '', ...checkLines.map((l) => `    ${l}`)] : []),
  ].join('\n');
  replaceBenchSection('gpu-engine', md);
  console.log('wrote the gpu-engine section of docs/BENCHMARKS.md');
}

main(process.argv.slice(2));

/**
 * Format I/O benchmark: how fast packed models are written and read, against plain file I/O of the
 * same bytes in the same run. One LLaMA-2-7B transformer block (q/k/v/o 4096x4096, gate/up 11008x4096,
 * down 4096x11008), W4 g128 (**synthetic**: random codes, scales and zeros).
 *
 *   npm run bench:format [-- --runs 5 --blocks 1]
 *
 * Rows: write (PackedModelWriter: header, chunks, sha256, fsync, rename) vs writeFile+fsync of the same
 * bytes; read (openPackedModel.readLayer: read + shape, zero, code and padding checks + F16 scale decode)
 * vs raw positional reads; verify (sha256 of every tensor, Web Crypto); in-memory parse and checks
 * (readPackedModelFromBuffers: zero-copy views) vs one copy of the file's bytes.
 */
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PackedModelWriter } from '../shared/format/packed-write.ts';
import { openPackedModel } from '../shared/format/packed-dir.ts';
import { readPackedModelFromBuffers } from '../shared/format/packed-read.ts';
import { openSafetensorsFile } from '../shared/format/safetensors-file.ts';
import { sha256Hex } from '../shared/format/checksum.ts';
import { f16BitsToF32, f32ToF16Bits } from '../shared/format/f16.ts';
import { wordsPerRow } from '../shared/format/bitplanes.ts';
import type { PackedLayerSpec } from '../shared/format/layer-spec.ts';
import type { PackedWeights } from '../shared/numerics/packed-linear-ref.ts';
import { Rng } from '../shared/util/rng.ts';
import { machineLine, median, replaceBenchSection } from './lib/bench-doc.ts';

const HIDDEN = 4096;
const FFN = 11008;
const WBITS = 4;
const GROUP = 128;
const SHAPES: [string, number, number][] = [ // name, N, K
  ['self_attn.q_proj', HIDDEN, HIDDEN], ['self_attn.k_proj', HIDDEN, HIDDEN], ['self_attn.v_proj', HIDDEN, HIDDEN],
  ['self_attn.o_proj', HIDDEN, HIDDEN], ['mlp.gate_proj', FFN, HIDDEN], ['mlp.up_proj', FFN, HIDDEN], ['mlp.down_proj', HIDDEN, FFN],
];

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '3' }, blocks: { type: 'string', default: '1' } } });
const runs = Number(args.runs);
const blocks = Number(args.blocks);

function randomLayer(spec: PackedLayerSpec, rng: Rng): PackedWeights {
  const { outFeatures: n, inFeatures: k } = spec;
  const g = Math.ceil(k / GROUP);
  const planes = new Uint32Array(WBITS * n * wordsPerRow(k)).map(() => rng.nextU32());
  const scales = new Float32Array(n * g).map(() => f16BitsToF32(f32ToF16Bits(0.001 + rng.next() * 0.01)));
  const zeros = new Uint8Array(n * g).map(() => rng.int(0, 15));
  return { n, k, bits: WBITS, groupSize: GROUP, planes, scales, zeros };
}

const specs: PackedLayerSpec[] = [];
for (let b = 0; b < blocks; b++) {
  for (const [name, n, k] of SHAPES) {
    specs.push({ name: `model.layers.${b}.${name}`, inFeatures: k, outFeatures: n, wbits: WBITS, levels: 16, groupSize: GROUP, symmetric: false, abits: 8, actGroupSize: 0, method: 'rtn', hasBias: false });
  }
}
const rng = new Rng(1);
const layers = specs.map((s) => randomLayer(s, rng));
const work = mkdtempSync(path.join(tmpdir(), 'abq-bench-format-'));
const dir = path.join(work, 'model');
const gbps = (bytes: number, ms: number) => bytes / 1e6 / ms; // GB/s = bytes / 1e9 / (ms / 1e3)

const times: Record<string, number[]> = { write: [], writeBase: [], read: [], readBase: [], verify: [], parse: [], copy: [] };
let fileBytes = 0;
try {
  for (let r = 0; r < runs; r++) {
    let t = performance.now();
    const w = await PackedModelWriter.create(dir, { layers: specs, floats: [], source: { model: 'synthetic/llama-2-7b-block', revision: '', dtype: 'F16' }, config: { model_type: 'llama' } });
    for (let i = 0; i < specs.length; i++) await w.addLayer(specs[i].name, layers[i]);
    await w.finish();
    times.write.push(performance.now() - t);

    const file = path.join(dir, 'model.safetensors');
    const whole = readFileSync(file);
    fileBytes = whole.length;
    t = performance.now();
    const fh = await open(path.join(work, 'baseline.bin'), 'w');
    await fh.writeFile(whole);
    await fh.sync();
    await fh.close();
    times.writeBase.push(performance.now() - t);

    const pm = await openPackedModel(dir);
    t = performance.now();
    for (const s of specs) await pm.readLayer(s.name);
    times.read.push(performance.now() - t);
    await pm.close();
    const st = await openSafetensorsFile(file);
    const names = st.names();
    t = performance.now();
    for (const name of names) await st.readBytes(name);
    times.readBase.push(performance.now() - t);
    t = performance.now();
    for (const name of names) await sha256Hex(await st.readBytes(name));
    times.verify.push(performance.now() - t);
    await st.close();

    const configJson = readFileSync(path.join(dir, 'config.json'), 'utf8');
    t = performance.now();
    Uint8Array.prototype.slice.call(whole); // Buffer#slice would be a view
    times.copy.push(performance.now() - t);
    t = performance.now();
    await readPackedModelFromBuffers({ safetensorsBytes: new Uint8Array(whole.buffer, whole.byteOffset, whole.length), configJson });
    times.parse.push(performance.now() - t);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
const rows: [string, number, string, number][] = [
  ['write (PackedModelWriter, sha256, fsync, rename)', m.write, 'writeFile + fsync', m.writeBase],
  ['read every layer (openPackedModel.readLayer, checks)', m.read, 'positional reads', m.readBase],
  ['read + sha256 every tensor (verify)', m.verify, 'positional reads', m.readBase],
  ['parse + check in memory (readPackedModelFromBuffers)', m.parse, 'one copy of the bytes', m.copy],
];
const table = [
  '| operation | ms | GB/s | baseline | baseline GB/s | speed vs baseline |',
  '|---|---:|---:|---|---:|---:|',
  ...rows.map(([op, ms, base, bms]) => `| ${op} | ${ms.toFixed(0)} | ${gbps(fileBytes, ms).toFixed(2)} | ${base} | ${gbps(fileBytes, bms).toFixed(2)} | ${(bms / ms).toFixed(2)}x |`),
].join('\n');
console.log(table);
replaceBenchSection('format', [
  '## Packed format I/O (`npm run bench:format`)',
  '',
  `Command: \`npm run bench:format -- --runs ${runs} --blocks ${blocks}\` (median of ${runs}). Machine: ${machineLine()}.`,
  '',
  `${blocks} LLaMA-2-7B transformer block(s), W4 g128, **synthetic** weights: ${specs.length} layers, ${(fileBytes / 1e6).toFixed(1)} MB file.`,
  'GB/s are file bytes over wall time; the baseline is plain file I/O of the same bytes in the same run (page cache warm).',
  '',
  table,
].join('\n'));

/**
 * Bounded-memory check of the quantizer: writes a synthetic model of a real shape (random weights,
 * labelled synthetic; default TinyLlama-1.1B, F16), quantizes it with rtn W4A16 g128 into a packed
 * folder, and reports wall time and peak RSS against the size of the model in f32 (what loading it
 * whole would need). Writes its section of docs/BENCHMARKS.md.
 *
 *   npx tsx scripts/bench-quantize-memory.ts [--shape tinyllama-1.1b] [--dir /tmp/x] [--no-doc]
 */
import { parseArgs } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SYNTH_SHAPES, synthParamCount, type SynthShapeName } from '../shared/model/synth-shapes.ts';
import { writeSyntheticModel } from '../shared/model/synth.ts';
import { quantizeModel, DEFAULT_SETTINGS, settingsLabel } from '../shared/quant/index.ts';
import { writeQuantizedModel, packedSizeBytes } from '../shared/quant/write-packed.ts';
import { machineLine, replaceBenchSection } from './lib/bench-doc.ts';

const { values: args } = parseArgs({ options: { shape: { type: 'string', default: 'tinyllama-1.1b' }, dir: { type: 'string' }, 'no-doc': { type: 'boolean' } } });
const shapeName = args.shape as SynthShapeName;
const shape = SYNTH_SHAPES[shapeName];
if (!shape) throw new Error(`unknown shape ${args.shape}; one of ${Object.keys(SYNTH_SHAPES).join(', ')}`);

const MiB = 2 ** 20;
const root = args.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'abq-qmem-')));
try {
  const src = path.join(root, 'model');
  const t0 = performance.now();
  const synth = await writeSyntheticModel(src, shape, { dtype: 'f16', shapeName, force: true });
  const synthSeconds = (performance.now() - t0) / 1000;
  const rssBefore = process.memoryUsage().rss;
  const settings = { ...DEFAULT_SETTINGS, w: 4, a: 16, group: 128 };
  const t1 = performance.now();
  let peak = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
  const qm = await quantizeModel({ model: src, method: 'rtn', settings, progress: { blockDone: (l) => { peak = Math.max(peak, process.memoryUsage().rss); if (l % 4 === 0) process.stderr.write(`block ${l + 1}/${shape.layers}\n`); } } });
  await writeQuantizedModel(path.join(root, 'packed'), qm);
  clearInterval(sampler);
  const seconds = (performance.now() - t1) / 1000;
  const maxRss = Math.max(peak, process.resourceUsage().maxRSS * 1024);
  const params = synthParamCount(shape);
  const rows = [
    ['shape', `${shapeName} (synthetic, ${(params / 1e9).toFixed(2)} B params, F16 source ${(synth.totalBytes / MiB).toFixed(0)} MiB)`],
    ['configuration', `rtn ${settingsLabel(settings)}`],
    ['quantize + write time', `${seconds.toFixed(1)} s (synthesis ${synthSeconds.toFixed(1)} s, not counted)`],
    ['peak RSS of the process', `${(maxRss / MiB).toFixed(0)} MiB (before quantizing: ${(rssBefore / MiB).toFixed(0)} MiB)`],
    ['model in f32 (loading it whole)', `${((params * 4) / MiB).toFixed(0)} MiB`],
    ['packed output', `${(packedSizeBytes(qm) / MiB).toFixed(0)} MiB`],
  ];
  const table = ['| | |', '|---|---|', ...rows.map(([a, b]) => `| ${a} | ${b} |`)].join('\n');
  console.log(table);
  if (!args['no-doc']) {
    replaceBenchSection('quantize-memory', `## Quantizer memory (rtn on a synthetic 1B-shape model)\n\nCommand: \`npx tsx scripts/bench-quantize-memory.ts --shape ${shapeName}\`. Machine: ${machineLine()}.\n\nThe quantizer reads one block at a time and keeps only the packed output, so peak memory stays near one block in f32 plus the output (embeddings and lm_head in f32 included), far below the model in f32.\n\n${table}\n`);
  }
} finally {
  if (!args.dir) await rm(root, { recursive: true, force: true });
}

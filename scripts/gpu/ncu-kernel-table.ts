// Per-kernel times of an engine decode step from the ncu CSV that scripts/gpu/engine-ab.sh writes
// (gpu__time_duration per launch, in launch order; the script ships it as ncu-<config>.csv.xz: unpack
// it with `xz -dk` first): the last profiled step's kernels grouped by name and grid, their share of the
// step, and the launch sequence of one middle layer.
//
//   npx tsx scripts/gpu/ncu-kernel-table.ts <OUT>/ncu-w2a8.csv [--layers 32]
import { readFileSync } from 'node:fs';

export interface Launch { name: string; grid: string; block: string; us: number }
export interface KernelGroup { key: string; launches: number; meanUs: number; totalUs: number; share: number }
export interface StepSummary { launches: Launch[]; totalUs: number; groups: KernelGroup[]; layerSequence: Launch[] }

function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; }
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { out.push(cur); cur = ''; }
    else cur += c;
  }
  out.push(cur);
  return out;
}

/** Kernel name without namespaces and parameter list, template arguments kept: `btcDecodeKernel<2, 8>`. */
export function shortName(raw: string): string {
  const kernel = raw.replace(/<unnamed>::|\(anonymous namespace\)::/g, '').replace(/^void /, '');
  const noParams = kernel.replace(/\(.*$/, '');
  const lt = noParams.indexOf('<');
  const base = lt >= 0 ? noParams.slice(0, lt) : noParams;
  const last = base.split('::').pop() ?? base;
  return lt >= 0 ? `${last}${noParams.slice(lt).replace(/abq::|engine::/g, '')}` : last;
}

const US_PER_UNIT: Record<string, number> = { nsecond: 1e-3, ns: 1e-3, usecond: 1, us: 1, msecond: 1e3, ms: 1e3 };

/** Every profiled launch's duration, in launch order (other metrics in the CSV are ignored). */
export function parseLaunches(csv: string, source = 'ncu CSV'): Launch[] {
  const lines = csv.split('\n').filter((l) => l.startsWith('"'));
  if (lines.length === 0) throw new Error(`${source}: no CSV rows (was it written with ncu --csv?)`);
  const header = parseCsvLine(lines[0]);
  const col = (n: string): number => {
    const i = header.indexOf(n);
    if (i < 0) throw new Error(`${source}: no column "${n}" in the ncu CSV header`);
    return i;
  };
  const [iName, iGrid, iBlock, iMetric, iValue, iUnit] = ['Kernel Name', 'Grid Size', 'Block Size', 'Metric Name', 'Metric Value', 'Metric Unit'].map(col);
  const launches: Launch[] = [];
  for (const line of lines.slice(1)) {
    const f = parseCsvLine(line);
    if (f[iMetric] !== 'gpu__time_duration.sum') continue;
    const scale = US_PER_UNIT[f[iUnit]];
    if (scale === undefined) throw new Error(`${source}: unknown time unit "${f[iUnit]}"`);
    launches.push({ name: shortName(f[iName]), grid: f[iGrid], block: f[iBlock], us: Number(f[iValue].replace(/,/g, '')) * scale });
  }
  return launches;
}

/** The last step (steps start at the embedding gather), grouped by kernel and grid, and one middle layer's launches. */
export function summarizeLastStep(launches: Launch[], layers: number, source = 'ncu CSV'): StepSummary {
  const starts = launches.map((l, i) => (l.name.startsWith('embedKernel') ? i : -1)).filter((i) => i >= 0);
  if (starts.length === 0) throw new Error(`${source}: no embedKernel launch: not an engine step profile`);
  const step = launches.slice(starts[starts.length - 1]);
  const totalUs = step.reduce((s, l) => s + l.us, 0);
  const byKey = new Map<string, { n: number; us: number }>();
  for (const l of step) {
    const key = `${l.name} grid ${l.grid} block ${l.block}`;
    const g = byKey.get(key) ?? { n: 0, us: 0 };
    g.n++;
    g.us += l.us;
    byKey.set(key, g);
  }
  const groups = [...byKey].map(([key, g]) => ({ key, launches: g.n, meanUs: g.us / g.n, totalUs: g.us, share: g.us / totalUs }))
    .sort((a, b) => b.totalUs - a.totalUs);
  // Per layer: everything but the embedding, final norm + lm_head and sampling (about 4 launches).
  const perLayer = Math.max(1, Math.round((step.length - 4) / layers));
  const mid = 1 + perLayer * Math.floor(layers / 2);
  return { launches: step, totalUs, groups, layerSequence: step.slice(mid, mid + perLayer) };
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--layers');
  if (!file) throw new Error('usage: ncu-kernel-table.ts <ncu.csv> [--layers N]');
  const layersArg = args.indexOf('--layers');
  const layers = layersArg >= 0 ? Number(args[layersArg + 1]) : 32;
  const s = summarizeLastStep(parseLaunches(readFileSync(file, 'utf8'), file), layers, file);
  console.log(`${file}: ${s.launches.length} kernel launches in the last step, ${s.totalUs.toFixed(1)} us of kernel time (${(s.totalUs / layers).toFixed(1)} us per layer over ${layers})`);
  console.log('| kernel | launches | mean us | total us | share |\n|---|---|---|---|---|');
  for (const g of s.groups) console.log(`| ${g.key} | ${g.launches} | ${g.meanUs.toFixed(2)} | ${g.totalUs.toFixed(1)} | ${(100 * g.share).toFixed(1)}% |`);
  console.log(`\nlaunch sequence of a middle layer (${s.layerSequence.length} launches):`);
  for (const l of s.layerSequence) console.log(`  ${l.us.toFixed(2).padStart(8)} us  ${l.name}  grid ${l.grid}`);
}

if (process.argv[1] && /ncu-kernel-table\.(ts|mjs|js)$/.test(process.argv[1])) main();

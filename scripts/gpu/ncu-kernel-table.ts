// Per-kernel times of an engine decode step from the ncu CSV that scripts/gpu/engine-ab.sh writes
// (gpu__time_duration per launch, in launch order): the last profiled step's kernels grouped by name and
// grid, their share of the step, and the launch sequence of one middle layer.
//
//   npx tsx scripts/gpu/ncu-kernel-table.ts <OUT>/ncu-w2a8.csv [--layers 32]
import { readFileSync } from 'node:fs';

interface Launch { name: string; grid: string; block: string; us: number }

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

function shortName(raw: string): string {
  const kernel = raw.replace(/<unnamed>::|\(anonymous namespace\)::/g, '');
  const base = kernel.replace(/\(.*$/, '').replace(/^void /, '').replace(/<.*$/, '');
  const parts = base.split('::');
  const last = parts[parts.length - 1];
  const tmpl = /<(.*)>/.exec(kernel.replace(/\(.*$/, ''));
  return tmpl ? `${last}<${tmpl[1].replace(/abq::|engine::|\(anonymous namespace\)::/g, '')}>` : last;
}

function main(): void {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) throw new Error('usage: ncu-kernel-table.ts <ncu.csv> [--layers N]');
  const layersArg = args.indexOf('--layers');
  const layers = layersArg >= 0 ? Number(args[layersArg + 1]) : 32;
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('"'));
  const header = parseCsvLine(lines[0]);
  const col = (n: string): number => {
    const i = header.indexOf(n);
    if (i < 0) throw new Error(`${file}: no column "${n}" in the ncu CSV header`);
    return i;
  };
  const [iName, iGrid, iBlock, iMetric, iValue, iUnit] = ['Kernel Name', 'Grid Size', 'Block Size', 'Metric Name', 'Metric Value', 'Metric Unit'].map(col);
  const launches: Launch[] = [];
  for (const line of lines.slice(1)) {
    const f = parseCsvLine(line);
    if (f[iMetric] !== 'gpu__time_duration.sum') continue;
    const v = Number(f[iValue].replace(/,/g, ''));
    const unit = f[iUnit];
    const us = unit === 'nsecond' || unit === 'ns' ? v / 1000 : unit === 'msecond' || unit === 'ms' ? v * 1000 : unit === 'usecond' || unit === 'us' ? v : v / 1000;
    launches.push({ name: shortName(f[iName]), grid: f[iGrid], block: f[iBlock], us });
  }
  // Steps start at the embedding gather; take the last complete one.
  const starts = launches.map((l, i) => (l.name.startsWith('embedKernel') ? i : -1)).filter((i) => i >= 0);
  if (starts.length === 0) throw new Error(`${file}: no embedKernel launch: not an engine step profile`);
  const step = launches.slice(starts[starts.length - 1]);
  const total = step.reduce((s, l) => s + l.us, 0);
  const groups = new Map<string, { n: number; us: number }>();
  for (const l of step) {
    const key = `${l.name} grid ${l.grid} block ${l.block}`;
    const g = groups.get(key) ?? { n: 0, us: 0 };
    g.n++; g.us += l.us;
    groups.set(key, g);
  }
  console.log(`${file}: ${step.length} kernel launches in the last step, ${total.toFixed(1)} us of kernel time (${(total / layers).toFixed(1)} us per layer over ${layers})`);
  console.log('| kernel | launches | mean us | total us | share |\n|---|---|---|---|---|');
  for (const [k, g] of [...groups].sort((a, b) => b[1].us - a[1].us))
    console.log(`| ${k} | ${g.n} | ${(g.us / g.n).toFixed(2)} | ${g.us.toFixed(1)} | ${((100 * g.us) / total).toFixed(1)}% |`);
  const perLayer = Math.round((step.length - 4) / layers);
  const mid = 1 + perLayer * Math.floor(layers / 2);
  console.log(`\nlaunch sequence of a middle layer (${perLayer} launches):`);
  for (const l of step.slice(mid, mid + perLayer)) console.log(`  ${l.us.toFixed(2).padStart(8)} us  ${l.name}  grid ${l.grid}`);
}

main();

/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, as `bench:edge --edge-prof DIR` writes for the
 * edge): self time by function and by source (package or repo folder), and total (inclusive) time of
 * the functions that take most, as shares of the busy (non-idle) samples. Used to find where the
 * edge's CPU per request goes; shares, not absolute times, compare between runs on a shared machine.
 *
 *     npx tsx scripts/edge-bench/profile-summary.ts DIR/CPU.*.cpuprofile [--top 40]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** V8's pseudo-frames that are not work done for a request. */
const IDLE = new Set(['(idle)', '(program)']);

/** Where a frame's code lives: a package name, a repo folder (edge/lib), node:internal or native. */
export function sourceOf(url: string): string {
  if (!url) return '(native/VM)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const m = /\/(edge|shared|scripts|gpu-node)\/(.*)$/.exec(url);
  if (m) return `${m[1]}/${m[2].split('/').slice(0, -1).join('/') || '.'}`;
  return url;
}

/** Natives reported on their own in the owner view (kernel work, not the caller's JS). */
const OWN_ROW = new Set(['writev', '(garbage collector)']);

/** A source that owns the work it causes (a package or repo code), as opposed to Node's internals. */
function isOwner(src: string): boolean {
  return !src.startsWith('node:') && !src.startsWith('(') && src !== '';
}

export interface Summary {
  busyMs: number;
  self: [string, number][];
  /**
   * Self time charged to the innermost package or repo folder on the stack (so Node internals
   * that undici or the node:http server call are charged to them), writev and GC on their own rows.
   */
  byOwner: [string, number][];
  bySource: [string, number][];
  total: [string, number][];
}

export function summarise(profile: CpuProfile): Summary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const label = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${sourceOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const bySource = new Map<string, number>();
  const total = new Map<string, number>();
  const byOwner = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    if (IDLE.has(n.callFrame.functionName)) continue;
    busy += us;
    self.set(label(n), (self.get(label(n)) ?? 0) + us);
    const src = n.callFrame.url ? sourceOf(n.callFrame.url) : n.callFrame.functionName;
    bySource.set(src, (bySource.get(src) ?? 0) + us);
    let owner = OWN_ROW.has(n.callFrame.functionName) ? n.callFrame.functionName : undefined;
    for (let at: number | undefined = id; owner === undefined && at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (f.url && isOwner(sourceOf(f.url))) owner = sourceOf(f.url);
    }
    owner ??= src;
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + us);
    // Inclusive time: count each distinct function once per sample's stack (recursion-safe).
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const l = label(byId.get(at)!);
      if (seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + us);
    }
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { busyMs: busy / 1000, self: sorted(self), byOwner: sorted(byOwner), bySource: sorted(bySource), total: sorted(total) };
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '40' } } });
  if (positionals.length === 0) throw new Error('pass one or more .cpuprofile files (bench:edge --edge-prof DIR writes them)');
  const top = Number(values.top);
  for (const file of positionals) {
    const s = summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
    const pct = (us: number) => ((100 * us) / 1000 / s.busyMs).toFixed(1).padStart(5);
    console.log(`# ${file}: ${s.busyMs.toFixed(0)} ms busy`);
    console.log('\n## self time by source');
    for (const [k, v] of s.bySource.slice(0, top)) console.log(`${pct(v)}%  ${k}`);
    console.log('\n## self time by owner (innermost package or repo folder on the stack)');
    for (const [k, v] of s.byOwner.slice(0, top)) console.log(`${pct(v)}%  ${k}`);
    console.log('\n## self time by function');
    for (const [k, v] of s.self.slice(0, top)) console.log(`${pct(v)}%  ${k}`);
    console.log('\n## total time by function');
    for (const [k, v] of s.total.slice(0, top)) console.log(`${pct(v)}%  ${k}`);
  }
}

if (process.argv[1]?.endsWith('profile-summary.ts')) main();

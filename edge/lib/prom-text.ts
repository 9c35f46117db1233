/**
 * A minimal Prometheus text-format registry (counters, gauges, histograms with labels).
 * Hand-written because prom-client needs Node built-ins (cluster, v8, process) that workerd lacks;
 * the edge core must run in both. The node server (Node only) uses prom-client itself.
 */

type Labels = Record<string, string>;

const NEEDS_ESCAPE = /[\\"\n]/;

function escapeLabelValue(v: string): string {
  return NEEDS_ESCAPE.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/**
 * `a="x",b="y"` with keys sorted. Called several times per request, so the usual case (keys
 * written in sorted order, nothing to escape) builds the string in one pass without sorting.
 */
function labelKey(labels: Labels): string {
  let key = '';
  let prev = '';
  for (const k in labels) {
    if (k < prev) return sortedLabelKey(labels);
    prev = k;
    key += `${key ? ',' : ''}${k}="${escapeLabelValue(String(labels[k]))}"`;
  }
  return key;
}

function sortedLabelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escapeLabelValue(String(labels[k]))}"`)
    .join(',');
}

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ''} ${v}`);
    return lines.join('\n');
  }
}

/** A gauge, or with `type` 'counter' a counter whose values are kept elsewhere and read at scrape time. */
export class Gauge implements Metric {
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string, private readonly collect?: (g: Gauge) => void, private readonly type: 'gauge' | 'counter' = 'gauge') {}
  set(labels: Labels, value: number): void {
    this.values.set(labelKey(labels), value);
  }
  reset(): void {
    this.values.clear();
  }
  render(): string {
    this.collect?.(this);
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ''} ${v}`);
    return lines.join('\n');
  }
}

export class Histogram implements Metric {
  /** Per series, observations counted in the first bucket that holds them (cumulated when rendered). */
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, readonly buckets: number[]) {}
  observe(labels: Labels, value: number): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 }));
    // One increment per observation (the exposition format wants cumulative counts: see render).
    let i = 0;
    while (i < this.buckets.length && !(value <= this.buckets[i])) i++;
    if (i < this.buckets.length) s.counts[i]++;
    s.sum += value;
    s.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const pre = k ? `${k},` : '';
      let cumulative = 0;
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{${pre}le="${b}"} ${(cumulative += s.counts[i])}`));
      lines.push(`${this.name}_bucket{${pre}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}`);
      lines.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`);
    }
    return lines.join('\n');
  }
}

export class PromRegistry {
  private readonly metrics: Metric[] = [];
  register<T extends Metric>(m: T): T {
    this.metrics.push(m);
    return m;
  }
  render(): string {
    return this.metrics.map((m) => m.render()).join('\n') + '\n';
  }
}

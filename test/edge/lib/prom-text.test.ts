/** edge/lib/prom-text.ts: the Prometheus text the edge's /metrics serves. */
import { describe, expect, it } from 'vitest';
import { Counter, Histogram, PromRegistry } from '../../../edge/lib/prom-text.ts';

describe('Histogram', () => {
  it('renders cumulative buckets, +Inf, sum and count per label set', () => {
    const h = new Histogram('t_seconds', 'help', [0.1, 1, 10]);
    for (const v of [0.05, 0.1, 0.5, 2, 20]) h.observe({ path: 'gpu' }, v);
    h.observe({ path: 'wasm' }, 5);
    const lines = h.render().split('\n');
    expect(lines).toEqual([
      '# HELP t_seconds help',
      '# TYPE t_seconds histogram',
      't_seconds_bucket{path="gpu",le="0.1"} 2',
      't_seconds_bucket{path="gpu",le="1"} 3',
      't_seconds_bucket{path="gpu",le="10"} 4',
      't_seconds_bucket{path="gpu",le="+Inf"} 5',
      't_seconds_sum{path="gpu"} 22.65',
      't_seconds_count{path="gpu"} 5',
      't_seconds_bucket{path="wasm",le="0.1"} 0',
      't_seconds_bucket{path="wasm",le="1"} 0',
      't_seconds_bucket{path="wasm",le="10"} 1',
      't_seconds_bucket{path="wasm",le="+Inf"} 1',
      't_seconds_sum{path="wasm"} 5',
      't_seconds_count{path="wasm"} 1',
    ]);
  });
});

describe('Counter', () => {
  it('keys label sets the same whatever their order, and escapes values', () => {
    const c = new Counter('n_total', 'help');
    c.inc({ a: 'x', b: 'y' });
    c.inc({ b: 'y', a: 'x' }, 2);
    c.inc({ a: 'q"\\\n' });
    expect(c.get({ a: 'x', b: 'y' })).toBe(3);
    const reg = new PromRegistry();
    reg.register(c);
    expect(reg.render()).toBe('# HELP n_total help\n# TYPE n_total counter\nn_total{a="x",b="y"} 3\nn_total{a="q\\"\\\\\\n"} 1\n');
  });
});

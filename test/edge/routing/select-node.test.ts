import { describe, expect, it } from 'vitest';
import { NodeRegistry } from '../../../edge/routing/registry.ts';
import { rankNodes } from '../../../edge/routing/select-node.ts';
import { parseEdgeConfig } from '../../../edge/config.ts';
import { TEST_SECRET } from '../helpers/constants.ts';

function registry() {
  const nodes = ['a', 'b', 'c'].map((id) => ({ id, url: `http://10.0.0.${id.charCodeAt(0)}:1`, models: ['m1'] }));
  return new NodeRegistry(parseEdgeConfig({ ABQ_NODE_SECRET: TEST_SECRET, ABQ_NODES: JSON.stringify(nodes) }));
}
const health = (models: string[]) => ({ status: 'ok' as const, backend: 'x', models, queue_depth: 0, active: 0, free_kv_slots: 4, max_slots: 4 });

describe('rankNodes', () => {
  it('prefers the least outstanding node', () => {
    const r = registry();
    r.get('a')!.outstanding = 2;
    r.get('b')!.outstanding = 0;
    r.get('c')!.outstanding = 1;
    expect(rankNodes(r.list(), 'm1').map((n) => n.id)).toEqual(['b', 'c', 'a']);
  });

  it('breaks ties by a stable per-model hash (affinity), differing between models', () => {
    const r = registry();
    for (const n of r.list()) r.applyHealth(n, health(['m1', 'm2', 'm3', 'm4']));
    const first = (m: string) => rankNodes(r.list(), m)[0].id;
    expect(first('m1')).toBe(first('m1'));
    expect(new Set(['m1', 'm2', 'm3', 'm4'].map(first)).size).toBeGreaterThan(1);
  });

  it('skips nodes that are down, draining, open-breakered, excluded or without the model', () => {
    const r = registry();
    r.applyHealth(r.get('a')!, new Error('refused'));
    r.applyHealth(r.get('b')!, { ...health(['m1']), status: 'draining' });
    expect(rankNodes(r.list(), 'm1').map((n) => n.id)).toEqual(['c']);
    expect(rankNodes(r.list(), 'm1', new Set(['c']))).toEqual([]);
    expect(rankNodes(r.list(), 'other')).toEqual([]);
    r.applyHealth(r.get('a')!, health(['m1']));
    for (let i = 0; i < 3; i++) r.get('a')!.breaker.onFailure();
    expect(rankNodes(r.list(), 'm1').map((n) => n.id)).toEqual(['c']);
  });
});

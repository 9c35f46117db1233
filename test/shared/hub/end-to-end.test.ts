/**
 * The whole publishing path on the real stories260K, through the CLI: `abq-pack quantize` (RTN W4A8, with
 * --eval and --push to the local Hub) -> `abq-pack pull` -> served by the edge's WASM engine, which
 * must answer exactly like the same edge serving the local packed folder. Needs ../shared (the model) and the WASM kernels
 * (`npm run build:wasm`); skips with the reason when either is missing.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { resolveModelRef } from '../../../shared/hub/resolve-model-ref.ts';
import { main } from '../../../scripts/cli/main.ts';
import { createEdgeApp } from '../../../edge/app.ts';
import { parseEdgeConfig } from '../../../edge/config.ts';
import { loadEdgeModel, parseModelDirs } from '../../../edge/node-models.ts';
import { kernelPath } from '../../../wasm/src/node.ts';
import { startHubServer, type HubServer } from '../../helpers/hub-server/index.ts';
import { describeWithShared, STORIES260K_DIR, TINYSTORIES_TXT } from '../../helpers/shared-data.ts';
import { tempDir, TOKENS, WRITE_TOKEN } from './fixtures.ts';

const KERNELS_BUILT = existsSync(kernelPath('simd')) || existsSync(kernelPath('scalar'));
const REQUEST = { model: 'stories', prompt: 'Once upon a time', max_tokens: 24, temperature: 0 };

/** Serves one model folder on the edge (WASM fallback only, no GPU nodes) and returns its completion. */
async function completeOnEdge(dir: string): Promise<{ text: string; servedBy: string | null }> {
  const loaded = await loadEdgeModel({ id: 'stories', dir }, { wasmFallback: true });
  const edge = createEdgeApp({ config: parseEdgeConfig({}), models: [loaded.served], localBackends: loaded.wasm ? [loaded.wasm] : [] });
  try {
    const res = await edge.app.request('/v1/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(REQUEST) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { text: string }[] };
    return { text: body.choices[0].text, servedBy: res.headers.get('x-abq-served-by') };
  } finally {
    edge.close();
  }
}

describeWithShared('stories260K: quantize -> push -> pull -> edge (WASM)', () => {
  let hub: HubServer;
  let work: string;

  beforeAll(async () => {
    hub = await startHubServer({ tokens: TOKENS });
    work = await tempDir();
  });
  afterAll(async () => {
    await hub?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const itWithKernels = KERNELS_BUILT ? it : it.skip;
  const reason = KERNELS_BUILT ? '' : ' (skipped: the WASM kernels are not built; run `npm run build:wasm`)';

  itWithKernels(`serves the pulled model exactly like the local one${reason}`, async () => {
    const packed = path.join(work, 'stories260K-w4a8');
    const cacheDir = path.join(work, 'cache');
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      // The three commands exactly as a user types them (through the CLI's own parser and defaults).
      // quantize --push does quantize and push in one go (the push command itself is covered in push-pull.test.ts).
      expect(await main(['quantize', STORIES260K_DIR!, '--method', 'rtn', '--w', '4', '--a', '8', '--out', packed, '--eval', TINYSTORIES_TXT!, '--eval-stories', '5',
        '--push', 'alice/stories260K-w4a8', '--license', 'mit', '--token', WRITE_TOKEN, '--endpoint', hub.url])).toBe(0);
      log.mockClear();
      expect(await main(['pull', 'alice/stories260K-w4a8@main', '--cache-dir', cacheDir, '--endpoint', hub.url])).toBe(0);
    } finally {
      vi.restoreAllMocks();
    }
    const dir = String(log.mock.calls.at(-1)?.[0]);
    const commit = (await hub.store.getRepo('alice/stories260K-w4a8'))!.branches.main;
    expect(dir).toBe(path.join(cacheDir, 'alice', 'stories260K-w4a8', commit));
    expect(await resolveModelRef('hf://alice/stories260K-w4a8@main', { endpoint: hub.url, cacheDir, env: {} })).toBe(dir);
    expect((await readFile(path.join(dir, 'model.safetensors'))).equals(await readFile(path.join(packed, 'model.safetensors')))).toBe(true);

    const card = await readFile(path.join(dir, 'README.md'), 'utf8');
    expect(card).toMatch(/^---\n[\s\S]*license: mit\n[\s\S]*tags:\n  - quantized\n  - abq\n  - w4a8\n/);
    expect(card).toMatch(/metrics:\n\s+- type: perplexity\n\s+value: \d+\.\d+/); // measured by quantize --eval
    expect(card).toMatch(/\| TinyStories-validation-first1000\.txt, first 5 documents \(stream, \d+\) \| perplexity \| \d+\.\d{4} \| \d+\.\d{4} \| -?\d+\.\d+% \|/);
    expect(card).toContain('## Quantization report');

    const fromHub = await completeOnEdge(dir);
    const local = await completeOnEdge(packed);
    expect(fromHub.servedBy).toBe('wasm');
    expect(fromHub.text.length).toBeGreaterThan(0);
    expect(fromHub.text).toBe(local.text);

    // The edge also takes the hf:// ref itself (as ABQ_MODEL_DIRS does), resolving it through the cache.
    vi.stubEnv('HF_ENDPOINT', hub.url);
    vi.stubEnv('ABQ_CACHE_DIR', cacheDir);
    try {
      const [spec] = parseModelDirs('hf://alice/stories260K-w4a8@main');
      expect(spec.id).toBe('stories260K-w4a8');
      expect((await completeOnEdge(spec.dir)).text).toBe(local.text);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

/**
 * The edge app inside workerd (Cloudflare's runtime) through @cloudflare/vitest-pool-workers:
 * edge/worker.ts is the Worker's main module; stories260K's files arrive as blob bindings (the
 * Worker's dev/test model source) and a real GPU node server runs on 127.0.0.1 (global-setup.ts).
 * Run: `npx vitest run --config test/runtime/workerd/vitest.config.ts` (part of `npm test`).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { STORIES260K_DIR } from '../../helpers/shared-data.ts';
import { TEST_KEY, TEST_SECRET } from '../../edge/helpers/constants.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../../..');
for (const f of ['wasm/build/kernels-simd.wasm', 'wasm/build/kernels-scalar.wasm']) {
  if (!existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build:wasm\` first`);
}
const dir = STORIES260K_DIR;
if (dir) process.env.ABQ_EDGE_WORKERD_STORIES = dir; // for global-setup.ts

export default defineConfig({
  root: ROOT,
  plugins: [
    cloudflareTest(async ({ inject }) => ({
      main: path.join(ROOT, 'edge/worker.ts'),
      miniflare: {
        compatibilityDate: '2026-04-01',
        compatibilityFlags: ['nodejs_compat'],
        modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
        bindings: {
          ABQ_API_KEYS: `test:${TEST_KEY}`,
          ABQ_NODE_SECRET: TEST_SECRET,
          ABQ_NODES: inject('nodeUrl') ? JSON.stringify([{ id: 'n1', url: inject('nodeUrl'), models: ['stories260K'] }]) : '',
          ABQ_RATE_LIMIT_PER_MINUTE: '0',
          HAVE_STORIES: dir ? 'yes' : 'no',
        },
        ...(dir
          ? {
            dataBlobBindings: { MODEL_SAFETENSORS: path.join(dir, 'model.safetensors') },
            textBlobBindings: {
              MODEL_CONFIG: path.join(dir, 'config.json'),
              MODEL_TOKENIZER: path.join(dir, 'tokenizer.json'),
              MODEL_TOKENIZER_CONFIG: path.join(dir, 'tokenizer_config.json'),
            },
          }
          : {}),
      },
    })),
  ],
  test: {
    include: ['test/runtime/workerd/**/*.test.ts'],
    globalSetup: [path.join(HERE, 'global-setup.ts')],
    testTimeout: 60_000,
  },
});

/**
 * The WASM engine inside workerd (Cloudflare's runtime) through @cloudflare/vitest-pool-workers.
 * The test imports the kernel build as a `.wasm` module (a WebAssembly.Module, as a Worker bundle
 * would: workerd refuses to compile WASM from bytes at run time), and gets stories260K's files as
 * data/text bindings.
 * Run: `npx vitest run --config test/runtime/workerd-wasm/vitest.config.ts` (part of `npm test`).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { STORIES260K_DIR } from '../../helpers/shared-data.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../../..');
const KERNELS = path.join(ROOT, 'wasm/build/kernels-simd.wasm');
if (!existsSync(KERNELS)) throw new Error(`${KERNELS} is missing: run \`npm run build:wasm\` first`);
const haveStories = STORIES260K_DIR !== undefined && existsSync(path.join(STORIES260K_DIR, 'model.safetensors'));

export default defineConfig({
  root: ROOT,
  plugins: [
    cloudflareTest({
      miniflare: {
        compatibilityDate: '2026-04-01',
        compatibilityFlags: ['nodejs_compat'],
        // `.wasm` imports become workerd CompiledWasm modules (not Vite's ESM-integration wasm).
        modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
        ...(haveStories
          ? {
            dataBlobBindings: { STORIES_SAFETENSORS: path.join(STORIES260K_DIR!, 'model.safetensors') },
            textBlobBindings: { STORIES_CONFIG: path.join(STORIES260K_DIR!, 'config.json') },
          }
          : {}),
        bindings: { HAVE_STORIES: haveStories ? 'yes' : 'no' },
      },
    }),
  ],
  test: {
    include: ['test/runtime/workerd-wasm/**/*.test.ts'],
    testTimeout: 120_000,
  },
});

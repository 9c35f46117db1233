import { defineConfig } from 'vitest/config';

// Node-side suites. The workerd suite has its own config (test/runtime/workerd/vitest.config.ts),
// run as a second project by `npm test`.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/runtime/workerd/**', 'test/runtime/workerd-wasm/**', 'node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});

/** The scheduled backends (what the node serves) through the shared InferenceBackend conformance suite. */
import path from 'node:path';
import { describe, it } from 'vitest';
import { REPO_ROOT, SKIP_REASON, STORIES260K_DIR } from '../../helpers/shared-data.ts';
import { runBackendConformance } from '../../conformance/inference-backend.case.ts';
import { loadBackend } from '../../../gpu-node/server/load-backend.ts';

const SHIPPED = path.join(REPO_ROOT, 'models', 'stories260K-w4a8');

runBackendConformance({ name: 'scheduled WASM engine (shipped W4A8)', model: 'stories260K', vocabSize: 512, create: async () => (await loadBackend('wasm', SHIPPED, 'stories260K', { maxBatchTokens: 8 })).backend });
if (STORIES260K_DIR) {
  runBackendConformance({ name: 'scheduled f32 reference (stories260K)', model: 'stories260K', vocabSize: 512, create: async () => (await loadBackend('reference', STORIES260K_DIR!, 'stories260K')).backend });
} else {
  describe.skip(`scheduled f32 reference conformance (${SKIP_REASON})`, () => {
    it('needs stories260K', () => undefined);
  });
}

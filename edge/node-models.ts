/**
 * Node-only: turns model folders into what the edge serves: a tokenizer per model (tokenize at the
 * edge), and, for packed models small enough, a WASM backend for the fallback path.
 *
 * ABQ_MODEL_DIRS: comma list of `ref` or `id=ref`, where a ref is a folder or `hf://user/repo[@rev]`
 * (pulled into the local cache at start; see docs/PUBLISHING.md). Default: the packed stories260K
 * shipped in the repo.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizer } from '../shared/tokenizer/load-tokenizer.ts';
import { edgeTokenizer } from './tokenizer.ts';
import { parseModelRef } from '../shared/hub/parse-model-ref.ts';
import { resolveModelRef } from '../shared/hub/resolve-model-ref.ts';
import type { ServedModel } from './runtime-types.ts';
import type { InferenceBackend } from './backends/backend.ts';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The small packed model shipped in the repo (built from stories260K by the quantizer; see models/README.md). */
export const DEFAULT_MODEL_DIR = path.join(REPO_ROOT, 'models', 'stories260K-w4a8');
export const DEFAULT_MODEL_ID = 'stories260K';

export interface ModelDirSpec {
  id: string;
  dir: string;
}

export function parseModelDirs(raw: string | undefined): ModelDirSpec[] {
  if (!raw) return [{ id: DEFAULT_MODEL_ID, dir: DEFAULT_MODEL_DIR }];
  return raw.split(',').map((s) => s.trim()).filter(Boolean).map((entry) => {
    const eq = entry.indexOf('=');
    const raw = eq > 0 ? entry.slice(eq + 1) : entry;
    const ref = parseModelRef(raw);
    // Hub refs stay as they are until loadEdgeModel pulls them; the repo name is the default id.
    const dir = ref.kind === 'hub' ? raw : path.resolve(raw);
    const defaultId = ref.kind === 'hub' ? ref.repo.split('/')[1] : path.basename(dir);
    return { id: eq > 0 ? entry.slice(0, eq) : defaultId, dir };
  });
}

export interface LoadedEdgeModel {
  served: ServedModel;
  /** The WASM fallback, when the folder holds a packed model and fallback is on. */
  wasm?: InferenceBackend;
}

export async function loadEdgeModel(spec: ModelDirSpec, opts: { wasmFallback: boolean }): Promise<LoadedEdgeModel> {
  if (parseModelRef(spec.dir).kind === 'hub') spec = { ...spec, dir: await resolveModelRef(spec.dir) };
  if (!existsSync(spec.dir)) {
    throw new Error(
      `model folder ${spec.dir} does not exist. ` +
        (spec.dir === DEFAULT_MODEL_DIR ? 'The default model is built by `npm run build:model` (abq-pack quantize of stories260K); ' : '') +
        'set ABQ_MODEL_DIRS=id=/path/to/model to serve another folder',
    );
  }
  const config = JSON.parse(await readFile(path.join(spec.dir, 'config.json'), 'utf8')) as { max_position_embeddings?: number; quantization_config?: unknown };
  const tokenizer = edgeTokenizer(await loadTokenizer(spec.dir));
  const served: ServedModel = { id: spec.id, tokenizer, contextLength: config.max_position_embeddings ?? 2048, created: Math.floor(Date.now() / 1000) };
  if (!opts.wasmFallback) return { served };
  const { loadWasmBackend } = await import('./backends/wasm-node.ts');
  return { served, wasm: await loadWasmBackend(spec.dir, spec.id) };
}

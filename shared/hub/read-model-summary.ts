/**
 * Collects what a model card says about a packed model folder (Node only), from its files alone:
 * config.json (architecture), each .safetensors header's __metadata__ (format, format_version,
 * abq.layers = the per-layer quantization, abq.source = the model it came from), and file sizes.
 * Reads headers only, never tensor data, so it is instant even for a 70B model.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { openSafetensorsFile } from '../format/safetensors-file.ts';
import { validateLayerSpecs, type PackedLayerSpec } from '../format/layer-spec.ts';
import { META_FORMAT, META_FORMAT_VERSION, META_LAYERS, META_SOURCE } from '../format/metadata.ts';
import { HubError } from './errors.ts';

export interface ModelSummary {
  /** "abq" for packed models; anything else means the folder is not a packed model. */
  format?: string;
  formatVersion?: string;
  /** From abq.source: the checkpoint it was quantized from. */
  source?: { model?: string; revision?: string; dtype?: string };
  modelType?: string;
  architecture?: string;
  layers: PackedLayerSpec[];
  /** Every file that would be published, relative paths with sizes (sorted). */
  files: { path: string; size: number }[];
  /** Tensor elements over all safetensors files (quantized weights counted as K*N). */
  parameterCount: number;
}

/** Files a push skips: editor and OS litter, and our own in-progress temp files. */
export const IGNORED_FILE = /(^|\/)(\.git|\.DS_Store|.*\.tmp(-[^/]*)?|.*\.part|\.partial|\.cache)(\/|$)/;

export async function listModelFiles(dir: string, prefix = ''): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (IGNORED_FILE.test(rel)) continue;
    // stat follows symlinks, so a tokenizer linked in from the source folder is published like a file.
    const st = entry.isSymbolicLink() ? await stat(path.join(dir, rel)) : entry;
    if (st.isDirectory()) out.push(...(await listModelFiles(dir, rel)));
    else if (st.isFile()) out.push({ path: rel, size: (await stat(path.join(dir, rel))).size });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

function parseJson<T>(text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

export async function readModelSummary(dir: string): Promise<ModelSummary> {
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) {
    throw new HubError('invalid-input', `${dir} is not a folder: give the output folder of \`abq-pack quantize\``);
  }
  const files = await listModelFiles(dir);
  const summary: ModelSummary = { layers: [], files, parameterCount: 0 };
  const config = parseJson<{ model_type?: string; architectures?: string[] }>(await readFile(path.join(dir, 'config.json'), 'utf8').catch(() => undefined));
  summary.modelType = config?.model_type;
  summary.architecture = config?.architectures?.[0];
  for (const f of files.filter((f) => f.path.endsWith('.safetensors'))) {
    const st = await openSafetensorsFile(path.join(dir, f.path)).catch((err: Error) => {
      throw new HubError('invalid-input', `${f.path} in ${dir} is not a readable safetensors file (${err.message}); repack the model`);
    });
    try {
      const meta = st.metadata;
      summary.format ??= meta[META_FORMAT];
      summary.formatVersion ??= meta[META_FORMAT_VERSION];
      summary.source ??= parseJson(meta[META_SOURCE]);
      if (meta[META_LAYERS]) summary.layers.push(...validateLayerSpecs(JSON.parse(meta[META_LAYERS])));
      const packed = new Set(summary.layers.map((l) => l.name));
      for (const name of st.names()) {
        const base = name.replace(/\.(qweight|scales|zeros)$/, '');
        if (packed.has(base) && name !== base) continue; // counted once below, as K*N
        summary.parameterCount += st.info(name).shape.reduce((a, b) => a * b, 1);
      }
    } finally {
      await st.close();
    }
  }
  summary.parameterCount += summary.layers.reduce((n, l) => n + l.inFeatures * l.outFeatures, 0);
  return summary;
}

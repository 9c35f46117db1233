/**
 * `abq-pack inspect <packed-dir | file.safetensors>`: validate a model file against docs/FORMAT.md and
 * print what it holds. Thin over shared/format; a broken file prints the AbqFormatError (its code and
 * the tensor) and exits 1.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from '../command.ts';
import { AbqFormatError } from '../../../shared/format/errors.ts';
import { openSafetensorsFile } from '../../../shared/format/safetensors-file.ts';
import { openPackedModel } from '../../../shared/format/packed-dir.ts';

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

async function inspectPacked(dir: string, verify: boolean, json: boolean): Promise<void> {
  const file = await openPackedModel(dir, { verify });
  try {
    const { metadata, infos } = file.header;
    if (verify) for (const name of infos.keys()) await file.readChecked(name);
    for (const spec of file.specs) await file.readLayer(spec.name); // data checks (zeros, codes, padding)
    const bytes = [...infos.values()].reduce((s, t) => s + t.end - t.begin, 0);
    if (json) {
      console.log(JSON.stringify({ kind: 'abq', formatVersion: metadata.formatVersion, source: metadata.source, layers: metadata.layers, floats: file.floatNames(), bytes, verified: verify }, null, 2));
      return;
    }
    console.log(`abq packed model, format v${metadata.formatVersion}: ${file.specs.length} quantized layers, ${file.floatNames().length} float tensors, ${mb(bytes)}`);
    console.log(`source: ${metadata.source.model}${metadata.source.revision ? `@${metadata.source.revision}` : ''} (${metadata.source.dtype})`);
    console.log(['layer', 'N x K', 'W', 'levels', 'group', 'A', 'act group', 'method'].join('\t'));
    for (const s of file.specs) {
      console.log([s.name, `${s.outFeatures} x ${s.inFeatures}`, s.wbits, s.levels, s.groupSize === s.inFeatures ? 'K' : s.groupSize, s.abits, s.actGroupSize === 0 || s.actGroupSize === s.inFeatures ? 'token' : s.actGroupSize, s.method].join('\t'));
    }
    console.log(verify ? 'checksums: all tensors verified' : 'checksums: not verified (use --verify)');
  } finally {
    await file.close();
  }
}

async function inspectSafetensors(file: string, json: boolean): Promise<void> {
  const st = await openSafetensorsFile(file);
  try {
    const tensors = st.names().map((n) => st.info(n));
    if (json) {
      console.log(JSON.stringify({ kind: 'safetensors', metadata: st.metadata, tensors }, null, 2));
      return;
    }
    const bytes = tensors.reduce((s, t) => s + t.end - t.begin, 0);
    console.log(`safetensors: ${tensors.length} tensors, ${mb(bytes)}, metadata ${JSON.stringify(st.metadata)}`);
    for (const t of tensors) console.log(`${t.name}\t${t.dtype}\t[${t.shape.join(', ')}]`);
  } finally {
    await st.close();
  }
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'Validate a packed model folder or a .safetensors file and list its contents',
  details:
    'A folder is read as a packed model (config.json + model.safetensors): every rule of docs/FORMAT.md is\n' +
    'checked, including zero points, codes and padding bits of every layer; --verify also hashes every tensor\n' +
    'against abq.checksums. A file is read as plain safetensors. Exit code 1 on a malformed file, with the\n' +
    'error code and the tensor it concerns.',
  positionals: [{ name: 'path', description: 'packed model folder, or a .safetensors file', required: true }],
  options: {
    verify: { type: 'boolean', description: 'check every tensor against its sha256 in abq.checksums' },
    json: { type: 'boolean', description: 'print JSON instead of a table' },
  },
  examples: ['abq-pack inspect out/stories260K-w4a8 --verify', 'abq-pack inspect model.safetensors --json'],
  async run([target], options) {
    try {
      if ((await stat(target)).isDirectory()) await inspectPacked(target, options.verify === true, options.json === true);
      else await inspectSafetensors(target, options.json === true);
      return 0;
    } catch (e) {
      if (!(e instanceof AbqFormatError)) throw e;
      console.error(`inspect: ${path.resolve(target)} is malformed: ${e.message}`);
      return 1;
    }
  },
};

/**
 * `abq-pack synth`: writes a synthetic (random-weight) HF LLaMA folder of a real model's shape, for
 * speed benchmarks of shapes we have no weights for. Thin over shared/model/synth.ts.
 */
import { type Command, type OptionValues, UsageError, intOption } from '../command.ts';
import { SYNTH_SHAPES, SYNTH_SHAPE_NAMES, synthParamCount, type SynthShape } from '../../../shared/model/synth-shapes.ts';
import { writeSyntheticModel } from '../../../shared/model/synth.ts';

const MAX_DIM = 1 << 20;

/** Named shape with any --hidden/--layers/... overrides applied; `custom` needs them all. */
export function shapeFromOptions(options: OptionValues): { name: string; shape: SynthShape } {
  const name = String(options.shape);
  const base: Partial<SynthShape> = name === 'custom' ? { tied: false } : { ...SYNTH_SHAPES[name as keyof typeof SYNTH_SHAPES] };
  const need = (key: keyof SynthShape, option: string) => intOption(options, option, base[key] as number | undefined, 1, MAX_DIM);
  const heads = need('heads', 'heads');
  const hidden = need('hidden', 'hidden');
  const shape: SynthShape = {
    hidden,
    intermediate: need('intermediate', 'intermediate'),
    layers: need('layers', 'layers'),
    heads,
    kvHeads: intOption(options, 'kv-heads', name === 'custom' ? heads : base.kvHeads, 1, MAX_DIM),
    vocab: need('vocab', 'vocab'),
    maxPositions: intOption(options, 'max-positions', base.maxPositions ?? 2048, 1, 1 << 24),
    tied: options.tied === true ? true : (base.tied ?? false),
  };
  if (hidden % heads !== 0) throw new UsageError(`--hidden (${hidden}) must be a multiple of --heads (${heads})`);
  if (heads % shape.kvHeads !== 0) throw new UsageError(`--kv-heads (${shape.kvHeads}) must divide --heads (${heads})`);
  return { name, shape };
}

export const synthCommand: Command = {
  name: 'synth',
  summary: 'Write a synthetic (random-weight) HF LLaMA model of a real shape',
  details:
    'Weights are N(0, 0.02^2) (norms 1 + N(0, 0.02^2)), streamed to disk tensor by tensor, so any size fits in little memory.\n' +
    'config.json carries "abq_synthetic": true; figures measured on it must be labelled synthetic.\n' +
    'Named shapes: ' + SYNTH_SHAPE_NAMES.join(', ') + '. Dimension options override a named shape; "custom" needs them all.',
  positionals: [],
  options: {
    shape: { type: 'string', description: 'model shape', enum: [...SYNTH_SHAPE_NAMES, 'custom'], valueName: '<name>', default: 'stories15M' },
    out: { type: 'string', description: 'output folder (created; must be empty unless --force)', valueName: '<dir>' },
    hidden: { type: 'string', description: 'hidden size', valueName: '<n>' },
    intermediate: { type: 'string', description: 'MLP intermediate size', valueName: '<n>' },
    layers: { type: 'string', description: 'number of decoder layers', valueName: '<n>' },
    heads: { type: 'string', description: 'attention heads', valueName: '<n>' },
    'kv-heads': { type: 'string', description: 'key/value heads (GQA; default: heads)', valueName: '<n>' },
    vocab: { type: 'string', description: 'vocabulary size', valueName: '<n>' },
    'max-positions': { type: 'string', description: 'max_position_embeddings', valueName: '<n>' },
    tied: { type: 'boolean', description: 'tie lm_head to the embedding' },
    dtype: { type: 'string', description: 'weight dtype', enum: ['f16', 'f32'], default: 'f16' },
    seed: { type: 'string', description: 'random seed', valueName: '<n>', default: '0' },
    'max-shard-mb': { type: 'string', description: 'shard size limit in MB (10^6 bytes)', valueName: '<n>', default: '2000' },
    tokenizer: { type: 'string', description: 'copy tokenizer.json (and friends) from this folder', valueName: '<dir>' },
    force: { type: 'boolean', description: 'replace an existing output folder' },
  },
  examples: [
    'abq-pack synth --shape stories15M --out .cache/synth/stories15M --tokenizer ../shared/models/llama2-tokenizer',
    'abq-pack synth --shape llama-2-7b --layers 2 --out /tmp/llama2-7b-2layers',
    'abq-pack synth --shape custom --hidden 256 --intermediate 688 --layers 4 --heads 8 --kv-heads 2 --vocab 512 --out /tmp/tiny',
  ],
  async run(_positionals, options) {
    if (typeof options.out !== 'string' || !options.out) throw new UsageError('--out <dir> is required');
    const { name, shape } = shapeFromOptions(options);
    const seed = intOption(options, 'seed', 0, 0, 0xffffffff);
    const maxShardBytes = intOption(options, 'max-shard-mb', 2000, 1, 1 << 30) * 1e6;
    const params = synthParamCount(shape);
    const isTty = process.stderr.isTTY;
    let lastStep = -1;
    console.error(`synth: ${name} (${(params / 1e6).toFixed(1)}M parameters, ${options.dtype}) -> ${options.out}`);
    const result = await writeSyntheticModel(options.out, shape, {
      dtype: options.dtype as 'f16' | 'f32',
      seed,
      shapeName: name,
      maxShardBytes,
      tokenizerDir: typeof options.tokenizer === 'string' ? options.tokenizer : undefined,
      force: options.force === true,
      onProgress: (done, total) => {
        const pct = Math.floor((100 * done) / total);
        const step = isTty ? pct : Math.floor(pct / 10); // every 1% on a terminal, every 10% in logs
        if (step !== lastStep) {
          lastStep = step;
          process.stderr.write(isTty ? `\r  ${pct}%` : `  ${pct}%\n`);
        }
      },
    });
    if (isTty) process.stderr.write('\n');
    console.log(`wrote ${result.files.join(', ')} (${(result.totalBytes / 1e6).toFixed(1)} MB) to ${result.dir}`);
    return 0;
  },
};

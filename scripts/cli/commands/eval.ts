/**
 * `abq-pack eval`: perplexity of a model folder (float or packed) on a text file, under one of the
 * protocols of docs/EVALUATION.md. Thin over shared/eval; this file parses options and prints.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Command, type OptionValues, UsageError, intOption } from '../command.ts';
import { EVAL_PROTOCOLS, type EvalProtocol, type PerplexityResult, defaultSeqlen, evaluatePerplexity, loadAnyModel, prepareEval } from '../../../shared/eval/node.ts';
import { loadTokenizer } from '../../../shared/tokenizer/node.ts';

const MAX_SEQLEN = 1 << 20;
const MAX_COUNT = 2 ** 31 - 1;

function optionalInt(options: OptionValues, name: string, min: number, max: number): number | undefined {
  return options[name] === undefined ? undefined : intOption(options, name, undefined, min, max);
}

interface ProgressReporter {
  update(done: number): void;
  stop(): void;
}

/**
 * A cli-progress bar on a terminal; on a pipe or in CI, one plain line per 10% (cli-progress would print
 * nothing there). Progress goes to stderr so that stdout (the table or --json) stays clean.
 */
async function createProgressReporter(label: string, total: number): Promise<ProgressReporter> {
  if (process.stderr.isTTY) {
    const { default: cliProgress } = await import('cli-progress');
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {value}/{total} targets | eta {eta_formatted}`, stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return { update: (done) => bar.update(done), stop: () => bar.stop() };
  }
  let lastTenth = 0;
  return {
    update(done) {
      const tenth = Math.floor((10 * done) / total);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        process.stderr.write(`${label}: ${done}/${total} targets (${tenth * 10}%)\n`);
      }
    },
    stop() {},
  };
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'Measure perplexity of a model folder on a text file',
  details:
    'Protocols (docs/EVALUATION.md):\n' +
    '  stream     stories ([BOS]+tokens) concatenated, chunks of seqlen+1 tokens overlapping by one, every target scored\n' +
    '             (llama2.c validation loss; the reference figures of stories260K use it)\n' +
    '  per-story  each story alone from BOS, truncated to seqlen\n' +
    '  wikitext   GPTQ: wiki.test.raw rows joined by blank lines, one BOS, non-overlapping seqlen windows\n' +
    'Stories are the pieces of the file between <|endoftext|> separators. Loss is in nats per token.',
  positionals: [{ name: 'model-dir', description: 'Hugging Face folder (config.json, safetensors, tokenizer.json), float or packed', required: true }],
  options: {
    data: { type: 'string', description: 'evaluation text file', valueName: '<file>' },
    protocol: { type: 'string', description: 'how the text is cut into windows', enum: EVAL_PROTOCOLS, default: 'stream', valueName: '<name>' },
    seqlen: { type: 'string', description: "window length (default: the model's max_position_embeddings, at most 2048)", valueName: '<n>' },
    'max-tokens': { type: 'string', description: 'use only the first N tokens of the text', valueName: '<n>' },
    stories: { type: 'string', description: 'use only the first N stories (stream, per-story)', valueName: '<n>' },
    'collapse-newlines': { type: 'boolean', description: 'turn blank-line paragraph breaks into single newlines (stream, per-story)' },
    json: { type: 'boolean', description: 'print one JSON object instead of the table' },
  },
  examples: [
    'abq-pack eval ../shared/models/stories260K --data ../shared/datasets/tinystories/TinyStories-validation-first1000.txt --stories 20',
    'abq-pack eval out/llama-w4a8 --data wiki.test.raw --protocol wikitext --seqlen 2048 --json',
  ],
  async run([modelDir], options) {
    if (typeof options.data !== 'string' || !options.data) throw new UsageError('--data <file> is required');
    const protocol = options.protocol as EvalProtocol;
    const maxTokens = optionalInt(options, 'max-tokens', 2, MAX_COUNT);
    const stories = optionalInt(options, 'stories', 1, MAX_COUNT);
    if (protocol === 'wikitext' && stories !== undefined) throw new UsageError('--stories applies to the stream and per-story protocols; use --max-tokens with wikitext');
    if (protocol === 'wikitext' && options['collapse-newlines']) throw new UsageError('--collapse-newlines applies to the stream and per-story protocols');

    const text = await readFile(options.data, 'utf8').catch((err: Error) => {
      throw new Error(`cannot read --data ${options.data}: ${err.message}`);
    });
    const loaded = await loadAnyModel(modelDir);
    const tokenizer = await loadTokenizer(modelDir);
    const seqlen = optionalInt(options, 'seqlen', 2, MAX_SEQLEN) ?? defaultSeqlen(loaded.config);
    if (seqlen > loaded.config.maxPositionEmbeddings) {
      throw new UsageError(`--seqlen ${seqlen} exceeds the model's max_position_embeddings (${loaded.config.maxPositionEmbeddings})`);
    }
    const plan = prepareEval(text, tokenizer, { protocol, seqlen, maxTokens, stories, collapseNewlines: options['collapse-newlines'] === true });
    const progress = await createProgressReporter('eval', plan.targets);
    let result: PerplexityResult;
    try {
      result = await evaluatePerplexity(loaded.model, plan, { onProgress: (done) => progress.update(done) });
    } finally {
      progress.stop();
    }

    const report = {
      model: modelDir,
      modelKind: loaded.description,
      data: options.data,
      protocol,
      seqlen,
      stories: protocol === 'wikitext' ? null : plan.documents,
      maxTokens: maxTokens ?? null,
      collapseNewlines: options['collapse-newlines'] === true,
      windows: result.windows,
      tokens: result.tokens,
      targets: result.targets,
      loss: result.loss,
      ppl: result.ppl,
      seconds: result.seconds,
      tokensPerSecond: result.tokensPerSecond,
    };
    if (options.json) {
      console.log(JSON.stringify(report, null, 2));
      return 0;
    }
    const rows: [string, string][] = [
      ['model', `${path.basename(path.resolve(modelDir))} (${loaded.description})`],
      ['data', `${path.basename(options.data)}: ${protocol}${protocol === 'wikitext' ? '' : `, ${plan.documents} stories`}${report.collapseNewlines ? ', newlines collapsed' : ''}, seqlen ${seqlen}`],
      ['tokens', `${result.tokens.toLocaleString('en-US')} (${result.targets.toLocaleString('en-US')} targets scored in ${result.windows} windows)`],
      ['loss', result.loss.toFixed(6)],
      ['perplexity', result.ppl.toFixed(4)],
      ['speed', `${result.tokensPerSecond.toFixed(0)} tokens/s (${result.seconds.toFixed(1)} s)`],
    ];
    for (const [k, v] of rows) console.log(`${k.padEnd(11)}${v}`);
    return 0;
  },
};

/**
 * `abq-pack generate`: streams a model's continuation of a prompt to stdout, piece by piece as the
 * tokens come (IncrementalDecoder keeps multi-byte characters whole). Thin over shared/model's
 * forward and Sampler and shared/tokenizer.
 */
import path from 'node:path';
import { type Command, type OptionValues, intOption, numberOption, UsageError } from '../command.ts';
import { loadAnyModel } from '../../../shared/eval/node.ts';
import { Sampler } from '../../../shared/model/sampling.ts';
import { IncrementalDecoder, loadTokenizer } from '../../../shared/tokenizer/node.ts';

const MAX_NEW_TOKENS = 1 << 20;

function samplingFrom(options: OptionValues) {
  const temperature = numberOption(options, 'temperature', 0);
  const topP = numberOption(options, 'top-p', 1);
  if (temperature < 0) throw new UsageError(`--temperature must be >= 0 (0 = greedy), got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new UsageError(`--top-p must be in (0, 1], got ${topP}`);
  return { temperature, topK: intOption(options, 'top-k', 0, 0, MAX_NEW_TOKENS), topP, seed: intOption(options, 'seed', 0, 0, 0xffffffff) };
}

export const generateCommand: Command = {
  name: 'generate',
  summary: 'Generate text from a prompt, streamed to stdout',
  details:
    'The prompt is encoded with BOS (or, with --chat, rendered as one user message with the chat template).\n' +
    'Generation stops at an EOS token, after --max-tokens tokens, or at the model context. Statistics go to stderr.',
  positionals: [{ name: 'model-dir', description: 'Hugging Face folder (config.json, safetensors, tokenizer.json), float or packed', required: true }],
  options: {
    prompt: { type: 'string', short: 'p', description: 'text to continue ("" starts from BOS alone)', valueName: '<text>', default: '' },
    'max-tokens': { type: 'string', short: 'n', description: 'tokens to generate at most', valueName: '<n>', default: '128' },
    temperature: { type: 'string', short: 't', description: 'sampling temperature; 0 = greedy', valueName: '<x>', default: '0' },
    'top-k': { type: 'string', description: 'sample among the k most likely tokens; 0 = all', valueName: '<k>', default: '0' },
    'top-p': { type: 'string', description: 'nucleus sampling mass; 1 = off', valueName: '<p>', default: '1' },
    seed: { type: 'string', description: 'random seed', valueName: '<n>', default: '0' },
    chat: { type: 'boolean', description: "wrap the prompt as a user message in the model's chat template" },
    echo: { type: 'boolean', description: 'print the prompt before the continuation' },
  },
  examples: [
    'abq-pack generate ../shared/models/stories260K --prompt "Once upon a time" --max-tokens 64',
    'abq-pack generate ../shared/models/stories260K --temperature 0.8 --top-p 0.9 --seed 7',
  ],
  async run([modelDir], options) {
    const prompt = typeof options.prompt === 'string' ? options.prompt : '';
    const maxNew = intOption(options, 'max-tokens', 128, 1, MAX_NEW_TOKENS);
    const sampler = new Sampler(samplingFrom(options));
    const loaded = await loadAnyModel(modelDir);
    const tokenizer = await loadTokenizer(modelDir);
    const promptIds = options.chat ? tokenizer.encodeChat([{ role: 'user', content: prompt }]) : tokenizer.encode(prompt, { addBos: true });
    if (promptIds.length === 0) throw new UsageError('the prompt encodes to no tokens and the tokenizer has no BOS to start from: give a --prompt');
    const context = loaded.config.maxPositionEmbeddings;
    if (promptIds.length >= context) throw new UsageError(`the prompt is ${promptIds.length} tokens; the model's context is ${context}`);
    const steps = Math.min(maxNew, context - promptIds.length);
    const stopIds = new Set([...tokenizer.eosIds, ...loaded.config.eosTokenIds]);

    const decoder = new IncrementalDecoder(tokenizer);
    const promptText = decoder.pushAll(promptIds) + decoder.flush();
    if (options.echo) process.stdout.write(promptText);

    const start = performance.now();
    const cache = loaded.model.newCache(promptIds.length + steps);
    let logits = loaded.model.forward(promptIds, cache);
    const prefillMs = performance.now() - start;
    let generated = 0;
    let stoppedAt: string = 'max-tokens';
    while (generated < steps) {
      const next = sampler.sample(logits);
      if (stopIds.has(next)) {
        stoppedAt = 'eos';
        break;
      }
      generated++;
      const piece = decoder.push(next);
      if (piece) process.stdout.write(piece);
      if (generated < steps) logits = loaded.model.forward([next], cache);
    }
    process.stdout.write(decoder.flush() + '\n');
    const decodeSeconds = (performance.now() - start - prefillMs) / 1000;
    if (generated === steps && steps < maxNew) stoppedAt = 'context';
    console.error(
      `generate: ${path.basename(path.resolve(modelDir))}, prompt ${promptIds.length} tokens (${prefillMs.toFixed(0)} ms), ` +
        `${generated} tokens in ${decodeSeconds.toFixed(2)} s (${decodeSeconds > 0 ? (generated / decodeSeconds).toFixed(1) : '-'} tokens/s), stopped at ${stoppedAt}`,
    );
    return 0;
  },
};

/**
 * `abq-pack push <dir> <user/repo>`: publish a packed model folder to the Hugging Face Hub with a model
 * card. Thin over shared/hub/push-model.ts; this file parses flags and prints progress.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Command, type OptionValues, UsageError, intOption } from '../command.ts';
import { EVAL_RESULTS_FILE, readEvalResults } from '../../../shared/hub/read-eval-results.ts';
import { prepareModelCard, pushModel, type PushProgress } from '../../../shared/hub/push-model.ts';
import { parseRepoSpec } from '../../../shared/hub/parse-model-ref.ts';
import type { EvalResult } from '../../../shared/hub/model-card.ts';

const str = (v: OptionValues[string]) => (typeof v === 'string' && v !== '' ? v : undefined);

/** Hub connection flags shared by push and pull. */
export const HUB_OPTIONS = {
  token: { type: 'string', description: 'Hugging Face access token (hf_...); default: $HF_TOKEN', valueName: '<hf_...>' },
  endpoint: { type: 'string', description: 'Hub URL, for mirrors and private hubs; default: $HF_ENDPOINT or https://huggingface.co', valueName: '<url>' },
  retries: { type: 'string', description: 'retries after network errors and 5xx answers, with exponential backoff', valueName: '<n>', default: '4' },
} as const;

/** Evaluation figures from --eval, else from <dir>/eval_results.json when it exists. */
async function evalsFor(dir: string, file: string | undefined): Promise<EvalResult[] | undefined> {
  if (file) return readEvalResults(file);
  const auto = path.join(dir, EVAL_RESULTS_FILE);
  return existsSync(auto) ? readEvalResults(auto) : undefined;
}

function progressPrinter(): (e: PushProgress) => void {
  return (e) => {
    if (e.kind === 'phase') console.error(`push: ${e.phase}`);
    else if (e.kind === 'retry') console.error(`push: attempt ${e.attempt} failed, retrying in ${(e.delayMs / 1000).toFixed(1)} s: ${e.message}`);
    else if (e.kind === 'file' && e.state === 'uploading' && e.progress === 1) console.error(`push:   uploaded ${e.path}`);
  };
}

export const pushCommand: Command = {
  name: 'push',
  summary: 'Publish a packed model folder to the Hugging Face Hub, with a model card',
  details:
    'Creates the repo when it does not exist (and the branch given by --revision), uploads every file of the folder\n' +
    '(weights through Git LFS), and adds README.md: a model card with YAML front matter (base_model, license,\n' +
    `library_name, tags such as quantized and the WxAy config) and the configuration, perplexity, size and usage.\n` +
    `A README.md in the folder that is already a Hub card (library_name in its front matter) is uploaded as it is;\n` +
    `any other (the report abq-pack quantize writes) is kept as a section of the generated card. --new-card and\n` +
    `--keep-card override that. Perplexity comes from --eval, or from\n` +
    `${EVAL_RESULTS_FILE} in the folder ({"perplexity", "dataset", "baseline"}). The token needs the "write" role.\n` +
    'Every tensor is checked against its abq.checksums first, so a damaged file is not published.\n' +
    'Network errors and 5xx answers are retried with backoff; a push that still fails can be rerun: files already\n' +
    'uploaded are not sent again, and nothing is committed until everything is there. See docs/PUBLISHING.md.',
  positionals: [
    { name: 'dir', description: 'packed model folder (the output of abq-pack quantize)', required: true },
    { name: 'repo', description: 'Hub repo id: user/repo or org/repo (created if missing)', required: true },
  ],
  options: {
    private: { type: 'boolean', description: 'create the repo private (no effect on an existing repo)' },
    revision: { type: 'string', description: 'branch to commit to, created from main if missing', valueName: '<branch>', default: 'main' },
    message: { type: 'string', description: 'commit title', valueName: '<text>' },
    license: { type: 'string', description: 'license id for the card (default: inherited from the source model card)', valueName: '<id>' },
    eval: { type: 'string', description: `JSON file with measured perplexity (default: <dir>/${EVAL_RESULTS_FILE} if present)`, valueName: '<file>' },
    'new-card': { type: 'boolean', description: 'write a new model card, ignoring a README.md in the folder' },
    'keep-card': { type: 'boolean', description: 'upload the folder\'s README.md exactly as it is, as the model card' },
    'print-card': { type: 'boolean', description: 'print the model card that would be uploaded, and exit (no network)' },
    'skip-verify': { type: 'boolean', description: 'do not check the tensors against their abq.checksums before uploading' },
    ...HUB_OPTIONS,
  },
  examples: [
    'HF_TOKEN=hf_... abq-pack push out/stories260K-w4a8 alice/stories260K-w4a8 --license mit',
    'abq-pack push out/llama-w2a8 my-org/llama-w2a8 --private --revision w2a8-g64 --message "W2A8, group 64"',
    'abq-pack push out/stories260K-w4a8 alice/stories260K-w4a8 --print-card',
    'HF_ENDPOINT=https://hub.example.com abq-pack push out/model team/model --token hf_...',
  ],
  async run([dir, repoArg], options) {
    const { repo } = parseRepoSpec(repoArg);
    const evals = await evalsFor(dir, str(options.eval));
    if (options['new-card'] === true && options['keep-card'] === true) throw new UsageError('--new-card and --keep-card contradict each other; give one');
    const card = options['new-card'] === true ? 'generate' : options['keep-card'] === true ? 'keep' : 'auto';
    if (options['print-card'] === true) {
      const prepared = await prepareModelCard({ dir, repo, evals, license: str(options.license), card });
      console.log(prepared.text);
      return 0;
    }
    const result = await pushModel({
      dir,
      repo,
      private: options.private === true,
      revision: str(options.revision),
      message: str(options.message),
      license: str(options.license),
      evals,
      card,
      verify: options['skip-verify'] !== true,
      token: str(options.token),
      endpoint: str(options.endpoint),
      retries: intOption(options, 'retries', 4, 0, 100),
      onProgress: progressPrinter(),
    });
    if (options.private === true && !result.createdRepo) console.error(`push: note: ${result.repo} existed already; --private did not change its visibility (change it in the repo settings)`);
    if (!result.license) console.error('push: note: no license found in the source model card; pass --license <id> to set one');
    console.error(`push: ${result.files.length} files committed to ${result.repo}@${result.revision} (model card ${result.card})`);
    console.log(result.commitUrl);
    return 0;
  },
};

/**
 * `abq-pack push`: publishes a packed model folder to a Hub repo with @huggingface/hub, creating the
 * repo (and branch) when needed, sending weights through the LFS path, and adding a model card
 * (README.md) generated from the files' metadata and the measured figures.
 *
 * An interrupted push is safe to run again: the commit is atomic on the Hub, and the LFS batch call
 * answers "already uploaded" for every large file that made it, so a rerun only sends what is missing.
 * This function reruns by itself after network failures and 5xx (backoff); 401/403/404 stop at once.
 *
 * @example
 * const { commitUrl } = await pushModel({ dir: 'out/stories260K-w4a8', repo: 'alice/stories260K-w4a8', evals });
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createBranch, createRepo, HubApiError, uploadFilesWithProgress, type CommitOutput } from '@huggingface/hub';
import { HubError } from './errors.ts';
import { resolveHubConfig, type HubConfigInput } from './hub-config.ts';
import { buildModelCard, quantLabel, type EvalResult } from './model-card.ts';
import { parseRepoSpec } from './parse-model-ref.ts';
import { parseQuantReport } from './parse-quant-report.ts';
import { readModelSummary, type ModelSummary } from './read-model-summary.ts';
import { toHubError, type HubErrorContext } from './to-hub-error.ts';
import { verifyTensorChecksums } from './verify-checksums.ts';
import { withRetries, type RetryOptions } from './with-retries.ts';
import { frontMatterField, frontMatterList, withoutFrontMatter } from './yaml.ts';

export const MODEL_CARD_FILE = 'README.md';

export type PushProgress =
  | { kind: 'phase'; phase: 'verifying' | 'creating-repo' | 'preuploading' | 'uploadingLargeFiles' | 'committing' }
  | { kind: 'file'; path: string; state: 'hashing' | 'uploading' | 'error'; progress: number }
  | { kind: 'retry'; message: string; attempt: number; delayMs: number };

export interface PushModelOptions extends HubConfigInput, Omit<RetryOptions, 'onRetry'> {
  /** The packed model folder (what `abq-pack quantize` wrote). */
  dir: string;
  /** user/repo (or org/repo). */
  repo: string;
  /** Create the repo private (has no effect on a repo that exists). */
  private?: boolean;
  /** Branch to commit to; created from main when missing. Default "main". */
  revision?: string;
  /** Commit title. */
  message?: string;
  /** Measured figures for the model card. */
  evals?: EvalResult[];
  /** License id for the card; default: inherited from the source model's card, or an existing README. */
  license?: string;
  /**
   * What to do with a README.md already in the folder. "auto" (default): keep a finished Hub card (one whose
   * front matter has library_name), else generate ours and append the existing text as the quantization
   * report (what `abq-pack quantize` writes). "keep": upload it as it is. "generate": ignore it.
   */
  card?: 'auto' | 'generate' | 'keep';
  /** Check every tensor against abq.checksums before uploading (default true), so damage is not published. */
  verify?: boolean;
  fetch?: typeof fetch;
  onProgress?: (event: PushProgress) => void;
}

export interface PushResult {
  repo: string;
  repoUrl: string;
  revision: string;
  commit: string;
  commitUrl: string;
  files: { path: string; size: number }[];
  card: 'generated' | 'kept';
  /** The license written to the card, if any was found. */
  license?: string;
  /** False when the repo existed already (then --private did not change its visibility). */
  createdRepo: boolean;
}

async function readText(file: string): Promise<string | undefined> {
  return readFile(file, 'utf8').catch(() => undefined);
}

/** License from the flag, else an existing card in the folder, else the source model's card when its folder is at hand. */
async function inheritLicense(dir: string, summary: ModelSummary, explicit?: string): Promise<string | undefined> {
  if (explicit) return explicit;
  const own = await readText(path.join(dir, MODEL_CARD_FILE));
  const fromOwn = own && frontMatterField(own, 'license');
  if (fromOwn) return fromOwn;
  const src = summary.source?.model;
  if (!src) return undefined;
  const sourceCard = await readText(path.resolve(dir, src, MODEL_CARD_FILE)) ?? await readText(path.resolve(src, MODEL_CARD_FILE));
  return sourceCard ? frontMatterField(sourceCard, 'license') : undefined;
}

/** The model card that push would upload (also what `abq-pack push --print-card` shows). */
export async function prepareModelCard(options: Pick<PushModelOptions, 'dir' | 'repo' | 'evals' | 'license' | 'card'>): Promise<{ text: string; kind: 'generated' | 'kept'; license?: string; summary: ModelSummary }> {
  const summary = await readModelSummary(options.dir);
  if (summary.format !== 'abq' || !summary.files.some((f) => f.path === 'config.json')) {
    throw new HubError('invalid-input',
      `${options.dir} is not a packed model folder (it needs config.json and .safetensors files with format "abq" metadata): run \`abq-pack quantize\` first, and push its output folder`);
  }
  const existing = await readText(path.join(options.dir, MODEL_CARD_FILE));
  const license = await inheritLicense(options.dir, summary, options.license);
  const mode = options.card ?? 'auto';
  if (existing !== undefined && (mode === 'keep' || (mode === 'auto' && frontMatterField(existing, 'library_name')))) {
    return { text: existing, kind: 'kept', license, summary };
  }
  const merge = existing !== undefined && mode === 'auto';
  // Without explicit figures, take the perplexities the quantizer recorded in its report.
  const evals = options.evals ?? (merge ? parseQuantReport(existing) : undefined);
  const text = buildModelCard({
    repo: options.repo, summary, evals, license,
    extraTags: merge ? frontMatterList(existing, 'tags') : undefined,
    appendix: merge ? { title: 'Quantization report', markdown: withoutFrontMatter(existing) } : undefined,
  });
  return { text, kind: 'generated', license, summary };
}

/** Runs a create call, taking 409 ("already exists") as success; true when it created something. */
async function ensure(create: () => Promise<unknown>): Promise<boolean> {
  try {
    await create();
    return true;
  } catch (err) {
    if (err instanceof HubApiError && err.statusCode === 409) return false;
    throw err;
  }
}

export async function pushModel(options: PushModelOptions): Promise<PushResult> {
  const { hubUrl, accessToken } = resolveHubConfig(options);
  const { repo } = parseRepoSpec(options.repo);
  const branch = options.revision ?? 'main';
  const ctx: HubErrorContext = { action: 'push', repo, revision: branch, hubUrl, token: accessToken };
  if (!accessToken) {
    throw new HubError('auth-missing', `push to ${repo} needs a Hugging Face token with the "write" role: set HF_TOKEN=hf_... or pass --token (create one at ${hubUrl}/settings/tokens)`);
  }
  const progress = options.onProgress;
  const card = await prepareModelCard({ ...options, repo });
  const files = card.summary.files.filter((f) => f.path !== MODEL_CARD_FILE);
  if (options.verify !== false) {
    progress?.({ kind: 'phase', phase: 'verifying' });
    for (const f of files.filter((x) => x.path.endsWith('.safetensors'))) {
      await verifyTensorChecksums(path.join(options.dir, f.path), `${f.path} in ${options.dir}`, 'Re-pack it with `abq-pack quantize` before pushing.');
    }
  }
  const uploads = [
    ...files.map((f) => ({ path: f.path, content: pathToFileURL(path.join(options.dir, f.path)) })),
    { path: MODEL_CARD_FILE, content: new Blob([card.text]) },
  ];
  const hub = { repo, hubUrl, accessToken, fetch: options.fetch };
  const label = quantLabel(card.summary);
  let created = false;

  const output = await withRetries(async (): Promise<CommitOutput | undefined> => {
    progress?.({ kind: 'phase', phase: 'creating-repo' });
    // Once created (by this or an earlier, failed attempt) the repo counts as created by this push.
    created = (await ensure(() => createRepo({ ...hub, visibility: options.private ? 'private' : undefined }))) || created;
    if (branch !== 'main') await ensure(() => createBranch({ ...hub, branch }));
    const events = uploadFilesWithProgress({
      ...hub,
      files: uploads,
      branch,
      commitTitle: options.message ?? `Upload ${label ? label + ' ' : ''}packed model with abq-pack`,
      useXet: false, // the classic LFS path: every Hub and mirror speaks it, and large files go through it
      abortSignal: options.signal,
    });
    let step = await events.next();
    for (; !step.done; step = await events.next()) {
      const e = step.value;
      if (e.event === 'phase') progress?.({ kind: 'phase', phase: e.phase });
      else progress?.({ kind: 'file', path: e.path, state: e.state, progress: e.progress });
    }
    return step.value;
  }, (err) => toHubError(err, ctx), {
    retries: options.retries,
    baseDelayMs: options.baseDelayMs,
    signal: options.signal,
    onRetry: (err, attempt, delayMs) => progress?.({ kind: 'retry', message: err.message, attempt, delayMs }),
  });
  if (!output) throw new HubError('request-rejected', `${hubUrl} accepted the upload to ${repo} but returned no commit`);
  return {
    repo,
    repoUrl: `${hubUrl}/${repo}`,
    revision: branch,
    commit: output.commit.oid,
    commitUrl: output.commit.url,
    files: [...files, { path: MODEL_CARD_FILE, size: new Blob([card.text]).size }],
    card: card.kind,
    license: card.license,
    createdRepo: created,
  };
}

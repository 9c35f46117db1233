/**
 * What gpu-node and the edge call with their `--model` value (Node only): a local folder is returned as
 * an absolute path; `hf://user/repo[@rev]` is pulled into the cache (or found there) and its snapshot
 * folder returned. Either way the caller gets a directory to load the packed model from.
 *
 * @example
 * const dir = await resolveModelRef(process.env.ABQ_MODEL ?? 'hf://alice/stories260K-w4a8@main');
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { HubError } from './errors.ts';
import { parseModelRef } from './parse-model-ref.ts';
import { pullModel, type PullModelOptions } from './pull-model.ts';

export type ResolveModelRefOptions = Omit<PullModelOptions, 'repo' | 'revision'>;

export async function resolveModelRef(ref: string, options: ResolveModelRefOptions = {}): Promise<string> {
  const parsed = parseModelRef(ref);
  if (parsed.kind === 'hub') {
    return (await pullModel({ ...options, repo: parsed.repo, revision: parsed.revision })).dir;
  }
  const dir = path.resolve(parsed.dir);
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new HubError('invalid-input', `model '${ref}' is not a folder (looked at ${dir}): give a packed model folder, or hf://user/repo[@revision] to load one from the Hub`);
  }
  return dir;
}

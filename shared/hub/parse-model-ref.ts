/**
 * Parses what users type where a model goes: a local folder, `hf://user/repo`, or `hf://user/repo@rev`
 * (rev: a branch, a tag or a commit id). Runtime-free (no node:*), so the edge can parse refs too.
 *
 * @example
 * parseModelRef('hf://alice/stories260K-w4a8@main') // { kind: 'hub', repo: 'alice/stories260K-w4a8', revision: 'main' }
 * parseModelRef('./models/tiny')                    // { kind: 'local', dir: './models/tiny' }
 */
import { HubError } from './errors.ts';

export const HUB_SCHEME = 'hf://';

/** user/repo: letters, digits, '-', '_', '.', each part starting with a letter or digit (the Hub's rule). */
const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Branches may hold '/', e.g. refs/pr/1; no spaces, no '..'. */
const REVISION = /^(?!.*\.\.)[A-Za-z0-9._/-]+$/;

export type ModelRef = { kind: 'local'; dir: string } | { kind: 'hub'; repo: string; revision?: string };

/** `user/repo[@rev]`, as `abq-pack pull` takes it (also accepts the hf:// form). */
export function parseRepoSpec(spec: string): { repo: string; revision?: string } {
  const body = spec.startsWith(HUB_SCHEME) ? spec.slice(HUB_SCHEME.length) : spec;
  const at = body.indexOf('@');
  const repo = at < 0 ? body : body.slice(0, at);
  const revision = at < 0 ? undefined : body.slice(at + 1);
  if (!REPO_ID.test(repo) || repo.includes('--') || repo.endsWith('.git')) {
    throw new HubError('invalid-input', `'${repo}' is not a Hub repo id: write it as user/repo (letters, digits, '-', '_', '.'), optionally @revision`);
  }
  if (revision !== undefined && !REVISION.test(revision)) {
    throw new HubError('invalid-input', `'${revision}' is not a valid revision in '${spec}': use a branch, a tag or a commit id, e.g. ${repo}@main`);
  }
  return { repo, revision };
}

export function parseModelRef(ref: string): ModelRef {
  if (!ref.startsWith(HUB_SCHEME)) return { kind: 'local', dir: ref };
  return { kind: 'hub', ...parseRepoSpec(ref) };
}

/**
 * Locates the real models and datasets kept beside the repository (../shared), which CI also has.
 * Suites that need them use `describeWithShared`, which skips with a visible reason when absent.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { describe } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Absolute path of ../shared, or undefined when it is not there. ABQ_SHARED overrides. */
export const SHARED_DIR: string | undefined = (() => {
  const dir = process.env.ABQ_SHARED ?? path.resolve(REPO_ROOT, '..', 'shared');
  return existsSync(path.join(dir, 'models')) ? dir : undefined;
})();

export const SKIP_REASON = 'skipped: ../shared (real models and datasets) not found beside the repository';

export function sharedPath(...parts: string[]): string {
  if (!SHARED_DIR) throw new Error(SKIP_REASON);
  return path.join(SHARED_DIR, ...parts);
}

export const STORIES260K_DIR = SHARED_DIR && path.join(SHARED_DIR, 'models', 'stories260K');
export const LLAMA2_TOKENIZER_DIR = SHARED_DIR && path.join(SHARED_DIR, 'models', 'llama2-tokenizer');
export const TINYSTORIES_TXT = SHARED_DIR && path.join(SHARED_DIR, 'datasets', 'tinystories', 'TinyStories-validation-first1000.txt');
export const WIKITEXT_TEST = SHARED_DIR && path.join(SHARED_DIR, 'datasets', 'wikitext-2-raw-v1', 'wiki.test.raw');

/** `describe` that runs only when ../shared is present; otherwise the suite is reported as skipped with the reason in its name. */
export function describeWithShared(name: string, fn: () => void): void {
  if (SHARED_DIR) describe(name, fn);
  else describe.skip(`${name} (${SKIP_REASON})`, fn);
}

export { REPO_ROOT };

/**
 * `abq-pack pull <user/repo>[@revision]`: download a model from the Hub into the local cache and print
 * the folder. Thin over shared/hub/pull-model.ts; this file parses flags and prints progress.
 */
import { type Command, type OptionValues, UsageError, intOption } from '../command.ts';
import { defaultCacheDir } from '../../../shared/hub/cache.ts';
import { parseRepoSpec } from '../../../shared/hub/parse-model-ref.ts';
import { pullModel, type PullProgress } from '../../../shared/hub/pull-model.ts';
import { HUB_OPTIONS } from './push.ts';

const str = (v: OptionValues[string]) => (typeof v === 'string' && v !== '' ? v : undefined);
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

/** How often the byte counter line is redrawn on a terminal. */
const PROGRESS_REDRAW_MS = 200;

/** One line per file; on a terminal also a live byte counter (plain logs stay clean when piped). */
function progressPrinter(tty = process.stderr.isTTY === true): (e: PullProgress) => void {
  let total = 0;
  let received = 0;
  let lastDraw = 0;
  const clear = () => tty && process.stderr.write('\r\x1b[K');
  return (e) => {
    if (e.kind === 'bytes') {
      received += e.bytes;
      if (tty && Date.now() - lastDraw > PROGRESS_REDRAW_MS) {
        lastDraw = Date.now();
        process.stderr.write(`\rpull: ${mb(received)} of ${mb(total)} (${total ? Math.floor((100 * received) / total) : 100}%)`);
      }
      return;
    }
    clear();
    if (e.kind === 'resolved') {
      total = e.totalBytes;
      console.error(`pull: commit ${e.commit}: ${e.files} files, ${mb(e.totalBytes)}`);
    } else if (e.kind === 'file') {
      received += e.resumedFrom; // count bytes an earlier run already had
      console.error(`pull:   ${e.path} (${mb(e.size)}${e.resumedFrom ? `, resumed at ${mb(e.resumedFrom)}` : ''})`);
    } else if (e.kind === 'retry') {
      console.error(`pull: attempt ${e.attempt} failed, retrying in ${(e.delayMs / 1000).toFixed(1)} s: ${e.message}`);
    }
  };
}

export const pullCommand: Command = {
  name: 'pull',
  summary: 'Download a model from the Hugging Face Hub into the local cache',
  details:
    'Downloads every file of the repo at one revision (a branch, tag or commit id; default main) into\n' +
    '<cache>/<user>/<repo>/<commit>/ and prints that folder on stdout, so `DIR=$(abq-pack pull ...)` works.\n' +
    'Every file is checked against the Hub\'s sha256 (LFS) or git id, and every tensor of a packed model against\n' +
    'its abq.checksums metadata; a snapshot folder appears only once all of it checks out. An interrupted pull\n' +
    'resumes where it stopped (HTTP Range). When the Hub cannot be reached, a revision pulled before is used;\n' +
    'with HF_HUB_OFFLINE=1 the network is not tried at all.\n' +
    'Give the printed folder to a GPU node (--model) or the edge (ABQ_MODEL_DIRS); code using shared/hub can take\n' +
    'hf://user/repo@revision directly (resolveModelRef), through this same cache.\n' +
    `Cache: --cache-dir, else $ABQ_CACHE_DIR, else $XDG_CACHE_HOME/abq/hub or ~/.cache/abq/hub. See docs/PUBLISHING.md.`,
  positionals: [
    { name: 'repo', description: 'user/repo, optionally @revision (also accepts hf://user/repo@revision)', required: true },
  ],
  options: {
    revision: { type: 'string', description: 'branch, tag or commit id (instead of @revision)', valueName: '<rev>' },
    'cache-dir': { type: 'string', description: 'cache root folder', valueName: '<dir>' },
    ...HUB_OPTIONS,
  },
  examples: [
    'abq-pack pull alice/stories260K-w4a8',
    'abq-pack pull alice/stories260K-w4a8@v1 --cache-dir /data/models',
    'HF_TOKEN=hf_... abq-pack pull my-org/private-model@3f2a9c0e1d4b5a6978877665544332211000aaaa',
  ],
  async run([spec], options) {
    const { repo, revision: atRevision } = parseRepoSpec(spec);
    const flagRevision = str(options.revision);
    if (atRevision && flagRevision && atRevision !== flagRevision) {
      throw new UsageError(`two revisions given: @${atRevision} and --revision ${flagRevision}; keep one`);
    }
    const result = await pullModel({
      repo,
      revision: atRevision ?? flagRevision,
      cacheDir: str(options['cache-dir']) ?? defaultCacheDir(),
      token: str(options.token),
      endpoint: str(options.endpoint),
      retries: intOption(options, 'retries', 4, 0, 100),
      onProgress: progressPrinter(),
    });
    if (result.offline) console.error(`pull: the Hub could not be reached; using the copy of ${repo}@${result.revision} pulled before (commit ${result.commit})`);
    else if (result.fromCache) console.error(`pull: ${repo}@${result.revision} (commit ${result.commit}) is already in the cache`);
    console.log(result.dir);
    return 0;
  },
};

/**
 * Turns whatever a Hub call threw (a HubApiError from @huggingface/hub, a fetch TypeError, a node:fs
 * error) into a HubError with a message that says the fix. Errors it does not recognise pass through
 * unchanged, so programming mistakes keep their stack and are never retried.
 */
import { HubApiError } from '@huggingface/hub';
import { HubError, redactToken } from './errors.ts';

/** System error codes that mean "the connection failed", as Node and undici report them. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH',
  'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);

export interface HubErrorContext {
  /** "push" or "pull": used in the messages. */
  action: 'push' | 'pull';
  repo: string;
  revision?: string;
  hubUrl: string;
  token?: string;
  /** The cache folder, named in disk-full messages. */
  cacheDir?: string;
}

function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

export function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = errorCode(err);
  if (code && NETWORK_CODES.has(code)) return true;
  // undici: "fetch failed" when no response came, "terminated" when the body stream was cut.
  if (err instanceof TypeError && /^(fetch failed|terminated)$/.test(err.message)) return true;
  return err.name === 'TimeoutError' || /other side closed|socket hang up/i.test(err.message);
}

function causeText(err: unknown): string {
  const code = errorCode(err);
  const cause = (err as { cause?: { message?: string } }).cause?.message;
  return [code, cause ?? (err as Error).message].filter(Boolean).join(': ');
}

function fromApiError(err: HubApiError, c: HubErrorContext): HubError {
  const serverSays = err.message.replace(/\. URL: .*$/, '');
  const status = err.statusCode;
  const opts = { cause: err, status };
  const tokensPage = `${c.hubUrl}/settings/tokens`;
  if (status === 401) {
    if (!c.token) {
      return new HubError('auth-missing',
        `${c.action} of ${c.repo} needs a Hugging Face token (the Hub said: ${serverSays}): the repo is private or does not exist, or the action needs an account. ` +
        `Set HF_TOKEN=hf_... or pass --token (create one at ${tokensPage}${c.action === 'push' ? ', with the "write" role' : ''}).`, opts);
    }
    return new HubError('auth-rejected',
      `the Hub at ${c.hubUrl} rejected the token ${redactToken(c.token)} (${serverSays}): it is invalid, expired or revoked. Create a new one at ${tokensPage} and set HF_TOKEN.`, opts);
  }
  if (status === 403) {
    return new HubError('auth-rejected',
      `the token ${redactToken(c.token)} may not ${c.action === 'push' ? 'write to' : 'read'} ${c.repo} (${serverSays}). ` +
      (c.action === 'push' ? `Use a token with the "write" role, and a namespace you own or an organisation you belong to.` : `Ask for access to the repo, or use a token of an account that has it.`), opts);
  }
  if (status === 404 && /rev/i.test(serverSays) && !/repository/i.test(serverSays)) {
    return new HubError('revision-not-found',
      `revision '${c.revision ?? 'main'}' does not exist in ${c.repo} (${serverSays}): use an existing branch, tag or full commit id (default: main).`, opts);
  }
  if (status === 404 && /entry/i.test(serverSays)) {
    return new HubError('entry-not-found', `${c.repo}: ${serverSays}. The revision may have changed while downloading: rerun to get the current one.`, opts);
  }
  if (status === 404) {
    return new HubError('repo-not-found',
      `repository ${c.repo} was not found on ${c.hubUrl} (${serverSays}): check the spelling (user/repo)` +
      (c.token ? `; if it is private, the token ${redactToken(c.token)} must belong to an account that can read it.` : `; if it is private, set HF_TOKEN.`), opts);
  }
  if (status >= 500 || status === 429) {
    return new HubError('server',
      `${c.hubUrl} answered ${status} (${serverSays}) during ${c.action} of ${c.repo}: the Hub is having trouble. Try again later; rerunning resumes where it stopped.`, opts);
  }
  return new HubError('request-rejected', `${c.action} of ${c.repo}: the Hub refused the request with ${status}: ${serverSays}`, opts);
}

export function toHubError(err: unknown, c: HubErrorContext): unknown {
  if (err instanceof HubError) return err;
  if (err instanceof HubApiError) return fromApiError(err, c);
  const code = errorCode(err);
  if (code && DISK_FULL_CODES.has(code)) {
    return new HubError('disk-full',
      `no space left on the disk holding ${c.cacheDir ?? 'the cache'} (${code}) during ${c.action} of ${c.repo}: free some space, or set ABQ_CACHE_DIR (or --cache-dir) to a larger disk. ` +
      `Finished files are kept, so rerunning resumes.`, { cause: err });
  }
  if (isNetworkError(err)) {
    return new HubError('network',
      `cannot reach ${c.hubUrl} (${causeText(err)}) during ${c.action} of ${c.repo}: check the connection, or set HF_ENDPOINT to a reachable mirror. Rerunning resumes where it stopped.`,
      { cause: err });
  }
  return err;
}

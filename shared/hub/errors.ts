/**
 * The one error type of shared/hub. Every failure of push, pull or model loading by repo id ends as a
 * HubError whose `kind` says what went wrong and whose message says how to fix it. Only `network` and
 * `server` are retried (with backoff); the others cannot get better by asking again.
 */

export type HubErrorKind =
  /** No token, and the Hub wants one (private repo, or a write). Fix: set HF_TOKEN or pass --token. */
  | 'auth-missing'
  /** The token is malformed, invalid, expired, or lacks the rights (403). Fix: a new or write-role token. */
  | 'auth-rejected'
  /** No such repo (or not visible to this token). Fix: the spelling, or a token that can read it. */
  | 'repo-not-found'
  /** The repo exists but not the branch, tag or commit. Fix: an existing revision. */
  | 'revision-not-found'
  /** A file listed by the Hub is not there (the revision moved under us, or a broken mirror). */
  | 'entry-not-found'
  /** The request never got an answer (refused, reset, DNS, timeout). Retried; rerun resumes. */
  | 'network'
  /** The Hub answered 5xx or 429. Retried; rerun resumes. */
  | 'server'
  /** The Hub refused the request itself (another 4xx): the message carries the server's reason. */
  | 'request-rejected'
  /** ENOSPC / EDQUOT while writing the cache, or not enough free space for the download. */
  | 'disk-full'
  /** A downloaded file or tensor does not hash to what the Hub or the format metadata says. */
  | 'checksum-mismatch'
  /** A local folder that is not a packed model, or a bad repo id / model reference. */
  | 'invalid-input';

const RETRYABLE: ReadonlySet<HubErrorKind> = new Set(['network', 'server']);

export interface HubErrorOptions {
  cause?: unknown;
  /** HTTP status when the Hub answered. */
  status?: number;
  /** How many attempts were made before giving up (set by withRetries). */
  attempts?: number;
}

export class HubError extends Error {
  override name = 'HubError';
  readonly kind: HubErrorKind;
  readonly status?: number;
  attempts: number;

  constructor(kind: HubErrorKind, message: string, options: HubErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.kind = kind;
    this.status = options.status;
    this.attempts = options.attempts ?? 1;
  }

  /** Whether asking again may succeed (network trouble or a 5xx). */
  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }
}

/** Shows enough of a token to tell which one it was, never the secret part. */
export function redactToken(token: string | undefined): string {
  if (!token) return '(none)';
  return token.length <= 10 ? 'hf_…' : `${token.slice(0, 5)}…${token.slice(-2)}`;
}

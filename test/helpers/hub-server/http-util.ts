/**
 * Small HTTP helpers for the test Hub server: JSON replies shaped like the Hub's (`{ error }` plus the
 * `X-Error-Code` header that @huggingface/hub and our client read), body reading and Range parsing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Request bodies above this are refused (the server is for tests; LFS uploads stream to disk instead). */
export const MAX_JSON_BODY_BYTES = 64 * 1024 * 1024;

/** The Hub's error codes, sent in `X-Error-Code` so clients can tell a missing repo from a missing file. */
export type HubErrorCode = 'RepoNotFound' | 'RevisionNotFound' | 'EntryNotFound' | 'GatedRepo';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errorCode?: HubErrorCode,
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, { error: err.message }, err.errorCode ? { 'X-Error-Code': err.errorCode } : {});
}

export async function readBody(req: IncomingMessage, limit = MAX_JSON_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw new HttpError(413, `request body over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function readJson<T>(req: IncomingMessage): Promise<T> {
  const body = await readBody(req);
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
}

/** A satisfiable byte range [start, end] (inclusive, like the header), or 'unsatisfiable', or null for none. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // malformed or multi-range: ignore, serve the whole file
  let start: number;
  let end: number;
  if (m[1] === '') {
    // suffix range: the last N bytes
    const n = Number(m[2]);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

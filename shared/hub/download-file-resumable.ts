/**
 * Downloads one file into `<partFile>`, resuming from whatever an earlier, interrupted attempt left there
 * (Node only). It asks for `Range: bytes=<have>-` (with `If-Range: <etag>` when it has a usable ETag): a
 * server that still holds the same content answers 206 and we append; one whose content changed (or that
 * ignores ranges) answers 200 and we start over. The caller verifies the checksum and renames the part
 * file into place.
 *
 * Hand-written instead of @huggingface/hub's downloadFile(): its WebBlob.stream() turns a failed range
 * request into a plain string, losing the HTTP status we need to tell 401/404 (stop) from 5xx (retry),
 * and it does not send If-Range. The library still does the resolve probe (fileDownloadInfo).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { HubApiError } from '@huggingface/hub';
import { HubError } from './errors.ts';

export interface ResumableDownload {
  /** The resolve URL (from fileDownloadInfo). */
  url: string;
  size: number;
  /**
   * ETag of the content, sent as If-Range so a resumed download never splices two versions. Leave it out
   * when the bytes come from another origin than the one that gave the ETag (the Hub redirects LFS files
   * to a CDN whose own ETag differs, which would turn every resume into a restart); the digest check
   * after the download still catches a splice.
   */
  etag?: string;
  partFile: string;
  accessToken?: string;
  fetch?: typeof fetch;
  /** Called with the number of new bytes written, for progress. */
  onBytes?: (bytes: number) => void;
  signal?: AbortSignal;
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

async function apiError(res: Response): Promise<HubApiError> {
  const text = await res.text().catch(() => '');
  let message = text;
  try {
    message = (JSON.parse(text) as { error?: string }).error ?? text;
  } catch {
    // not JSON: keep the text
  }
  return new HubApiError(res.url, res.status, res.headers.get('X-Request-Id') ?? undefined, message || `HTTP ${res.status}`);
}

/** Returns the number of bytes that were already there (0 for a fresh download). */
export async function downloadFileResumable(d: ResumableDownload): Promise<number> {
  await mkdir(path.dirname(d.partFile), { recursive: true });
  let have = await sizeOf(d.partFile);
  if (have > d.size) {
    await truncate(d.partFile, 0); // not ours: a different, longer file was there
    have = 0;
  }
  if (have === d.size) {
    if (d.size === 0) await writeFile(d.partFile, ''); // nothing to fetch, but the file must exist
    return have;
  }
  const headers: Record<string, string> = {};
  if (d.accessToken) headers.Authorization = `Bearer ${d.accessToken}`;
  if (have > 0) {
    headers.Range = `bytes=${have}-`;
    if (d.etag) headers['If-Range'] = d.etag;
  }
  const res = await (d.fetch ?? fetch)(d.url, { headers, signal: d.signal });
  if (!res.ok) throw await apiError(res);
  let resumedFrom = 0;
  if (res.status === 206) {
    const start = Number(/bytes (\d+)-/.exec(res.headers.get('Content-Range') ?? '')?.[1]);
    if (start !== have) {
      await res.body?.cancel();
      throw new HubError('request-rejected', `${d.url}: asked for bytes from ${have}, the server sent from ${start}; rerun to start that file over`);
    }
    resumedFrom = have;
  } else if (have > 0) {
    await truncate(d.partFile, 0); // 200: the whole file is coming again
  }
  if (!res.body) throw new HubError('network', `${d.url}: the response had no body`);
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      d.onBytes?.(chunk.length);
      done(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(res.body as NodeReadableStream), count, createWriteStream(d.partFile, { flags: resumedFrom > 0 ? 'a' : 'w' }));
  const got = await sizeOf(d.partFile);
  if (got !== d.size) {
    // The server closed the stream cleanly but early: treat it like a dropped connection (retry resumes).
    throw new HubError('network', `${d.url}: the connection ended after ${got} of ${d.size} bytes; rerun to resume`);
  }
  return resumedFrom;
}

/**
 * Node-only: the edge's links to its nodes, one per node origin, opened on first use and reopened
 * after they close. `open()` answers undefined for a node that offers no link (it answered the
 * upgrade with an ordinary HTTP response, or its URL is https://): RemoteNodeBackend then uses HTTP,
 * and asks again after UNSUPPORTED_RETRY_MS (the node may have been upgraded). A node that cannot be
 * reached, or refuses the edge's authentication, makes `open()` throw, so routing treats it as
 * it would an HTTP failure.
 */
import type { KeyObject } from 'node:crypto';
import { linkKey } from './auth.ts';
import { NodeLink, LinkAuthError, LinkUnsupported } from './node-link.ts';
import type { LinkStream } from './link-stream.ts';

/** How long a node that offered no link is reached over HTTP before the edge asks again. */
export const UNSUPPORTED_RETRY_MS = 60_000;

export { LinkAuthError };

/** What RemoteNodeBackend needs of the link transport. */
export interface NodeLinkTransport {
  /** A stream for one generation, or undefined when the node offers no link (use HTTP). */
  open(url: string, backendId: string, body: string, signal: AbortSignal | undefined): LinkStream | undefined | Promise<LinkStream | undefined>;
  /** Whether the link to this node is up now (metrics, /healthz). */
  isUp(url: string): boolean;
  close(): void;
}

interface Entry {
  link?: NodeLink;
  /** Set while the node offers no link: until then, HTTP. */
  unsupportedUntil?: number;
}

export function createNodeLinks(secret: string, now: () => number = Date.now): NodeLinkTransport {
  let key: KeyObject | undefined;
  const entries = new Map<string, Entry>();

  const connect = (entry: Entry, url: URL, backendId: string): NodeLink => {
    key ??= linkKey(secret);
    const link = new NodeLink({
      host: url.hostname,
      port: Number(url.port || 80),
      key,
      backendId,
      onClosed: (l) => {
        if (entry.link === l) entry.link = undefined;
      },
    });
    entry.link = link;
    return link;
  };

  const whenReady = async (entry: Entry, link: NodeLink, body: string, signal: AbortSignal | undefined): Promise<LinkStream | undefined> => {
    try {
      await abortable(link.ready, signal);
    } catch (e) {
      if (e instanceof LinkUnsupported) {
        entry.unsupportedUntil = now() + UNSUPPORTED_RETRY_MS;
        return undefined;
      }
      throw e;
    }
    // Closed while this request waited (another request's failure): the caller sees it as unreachable.
    if (link.state !== 'ready') throw new Error('the link closed during its handshake');
    return link.open(body, signal);
  };

  return {
    open(url, backendId, body, signal) {
      let entry = entries.get(url);
      if (!entry) {
        entry = {};
        entries.set(url, entry);
        if (!url.startsWith('http://')) entry.unsupportedUntil = Infinity; // TLS nodes: HTTPS only
      }
      if (entry.unsupportedUntil !== undefined) {
        if (now() < entry.unsupportedUntil) return undefined;
        entry.unsupportedUntil = undefined;
      }
      let link = entry.link;
      if (link?.state === 'ready') return link.open(body, signal);
      if (!link || link.state === 'closed') link = connect(entry, new URL(url), backendId);
      return whenReady(entry, link, body, signal);
    },
    isUp(url) {
      return entries.get(url)?.link?.state === 'ready';
    },
    close() {
      for (const e of entries.values()) e.link?.close('the edge is shutting down');
      entries.clear();
    },
  };
}

function abortable(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

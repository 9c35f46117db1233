/**
 * Offers the edge link (edge/link/) on the node's HTTP port: `GET /v1/link` with
 * `Upgrade: abq-link/1` switches the connection to link frames (link-connection.ts); anything else
 * that asks for an upgrade gets a 400, and plain requests never reach here. The HTTP API stays as
 * it is: Workers, direct clients and edges with the link turned off use it.
 *
 *     const link = attachNodeLink(server, { secret, backend, modelIds, metrics });
 *     ...
 *     await link.close(graceMs);  // at shutdown, after the backend has drained
 */
import type { Server, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { Gauge } from 'prom-client';
import { LINK_PATH, LINK_PROTOCOL, linkKey } from '../../../edge/link/auth.ts';
import { LinkConnection, type LinkConnectionOptions } from './link-connection.ts';

/** What every connection gets (link-connection.ts), with the shared secret instead of its derived key. */
export type NodeLinkOptions = Omit<LinkConnectionOptions, 'key' | 'onClosed'> & { secret: string };

export interface NodeLinkServer {
  /** Connections open now. */
  readonly connections: number;
  /**
   * Refuses new links, lets running generations finish, then closes every connection; resolves
   * when all are closed, or after `graceMs` (the rest are then destroyed).
   */
  close(graceMs: number): Promise<void>;
}

function refuseUpgrade(socket: Duplex, status: string, message: string): void {
  const body = JSON.stringify({ error: { message, code: 'bad_upgrade' } });
  socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

export function attachNodeLink(server: Server, opts: NodeLinkOptions): NodeLinkServer {
  const key = linkKey(opts.secret);
  const open = new Set<LinkConnection>();
  let closing = false;
  let onAllClosed: (() => void) | undefined;
  new Gauge({
    name: 'abq_node_link_connections',
    help: 'Authenticated or authenticating edge link connections open now',
    registers: [opts.metrics.registry],
    collect() {
      this.set(open.size);
    },
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined); // a peer that resets mid-handshake must not crash the node
    if (req.method !== 'GET' || req.url !== LINK_PATH || req.headers.upgrade?.toLowerCase() !== LINK_PROTOCOL) {
      return refuseUpgrade(socket, '400 Bad Request', `this node upgrades only GET ${LINK_PATH} to ${LINK_PROTOCOL}`);
    }
    // A node shutting down offers no link: the edge falls back to HTTP, which answers 503 and retries elsewhere.
    if (closing) return refuseUpgrade(socket, '503 Service Unavailable', 'the node is shutting down');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${LINK_PROTOCOL}\r\n\r\n`);
    const conn = new LinkConnection(socket as Socket, {
      key,
      backend: opts.backend,
      modelIds: opts.modelIds,
      metrics: opts.metrics,
      maxStreams: opts.maxStreams,
      now: opts.now,
      onClosed: (c) => {
        open.delete(c);
        if (open.size === 0) onAllClosed?.();
      },
    });
    open.add(conn);
    if (head.length > 0) conn.onData(head);
  });

  return {
    get connections() {
      return open.size;
    },
    close(graceMs) {
      closing = true;
      if (open.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          for (const c of [...open]) c.closeWith('the node is shutting down (grace period over)');
          resolve();
        }, graceMs);
        timer.unref();
        onAllClosed = () => {
          clearTimeout(timer);
          resolve();
        };
        for (const c of [...open]) c.shutdown();
      });
    },
  };
}

/**
 * The node's end of one link connection (edge/link/frames.ts, auth.ts): sends the challenge, takes
 * nothing but one AUTH frame (small, within AUTH_TIMEOUT_MS) until the edge has proved it holds the
 * shared secret, then runs the REQUEST frames it receives as generations (link-generation.ts).
 *
 * Everything read is untrusted: a frame too large, of an unknown type, out of place, with a bad
 * payload, or reusing a stream id closes the connection with a CLOSE frame naming the fault, and the
 * generations on it are cancelled. No input can throw out of here (the node must not crash).
 */
import type { Socket } from 'node:net';
import type { KeyObject } from 'node:crypto';
import {
  encodeFrame, encodeTextFrame, FrameDecoder, FrameError, FrameType, FRAME_HEADER_BYTES, readMessage, readU32, STREAM_WINDOW_TOKENS,
  type FrameTypeCode,
} from '../../../edge/link/frames.ts';
import { helloPayload, newNonce, nodeProof, verifyAnswer } from '../../../edge/link/auth.ts';
import { MAX_BODY_BYTES } from '../app.ts';
import { LinkGeneration, type GenerationOwner } from './link-generation.ts';
import type { ServedBackend } from '../slot-gated-backend.ts';
import type { NodeMetrics } from '../metrics.ts';

/** The edge must authenticate this soon after the upgrade. */
export const AUTH_TIMEOUT_MS = 5_000;
/** Largest frame before authentication (AUTH is 81 bytes with its header). */
export const MAX_AUTH_FRAME_BYTES = 128;
/** Largest frame after it: a REQUEST of the HTTP path's largest body. */
export const MAX_LINK_FRAME_BYTES = MAX_BODY_BYTES + FRAME_HEADER_BYTES;
/** Generations one connection may run at once; more are refused with 503 (the edge goes elsewhere). */
export const MAX_STREAMS_PER_LINK = 4096;
/** Largest single CREDIT grant (the edge grants half a window at a time). */
const MAX_GRANT = 1 << 20;

export interface LinkConnectionOptions {
  key: KeyObject;
  backend: ServedBackend;
  modelIds: string[];
  metrics: NodeMetrics;
  /** Generations one connection may run at once (default MAX_STREAMS_PER_LINK). */
  maxStreams?: number;
  now?: () => number;
  onClosed(conn: LinkConnection): void;
}

export class LinkConnection implements GenerationOwner {
  readonly backend: ServedBackend;
  readonly modelIds: string[];
  readonly metrics: NodeMetrics;
  private state: 'auth' | 'open' | 'closed' = 'auth';
  private readonly nonce = newNonce();
  private readonly decoder = new FrameDecoder(MAX_AUTH_FRAME_BYTES);
  private readonly streams = new Map<number, LinkGeneration>();
  private highestId = 0;
  private corked = false;
  private draining: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  private closing = false;
  private readonly authTimer: ReturnType<typeof setTimeout>;
  private readonly uncorkLater = () => this.uncork();

  constructor(
    private readonly socket: Socket,
    private readonly opts: LinkConnectionOptions,
  ) {
    this.backend = opts.backend;
    this.modelIds = opts.modelIds;
    this.metrics = opts.metrics;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined); // a reset peer: 'close' follows
    socket.on('end', () => {
      this.socket.end();
      this.closed();
    });
    socket.on('close', () => this.closed());
    this.authTimer = setTimeout(() => this.refuse('timeout', `no AUTH within ${AUTH_TIMEOUT_MS} ms`), AUTH_TIMEOUT_MS);
    this.write(encodeFrame(FrameType.HELLO, 0, helloPayload(this.nonce)));
  }

  get openStreams(): number {
    return this.streams.size;
  }

  onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    try {
      this.decoder.push(chunk, (type, id, payload) => this.onFrame(type, id, payload));
    } catch (e) {
      const message = e instanceof FrameError ? e.message : `the node failed to handle a frame: ${(e as Error).message}`;
      if (this.state === 'auth') this.refuse('malformed', message);
      else this.closeWith(`protocol error: ${message}`);
    }
  }

  /** Stops taking requests; closes once the generations running now have finished. */
  shutdown(): void {
    this.closing = true;
    if (this.streams.size === 0) this.closeWith('the node is shutting down');
  }

  /** Closes at once, telling the edge why; running generations are cancelled. */
  closeWith(reason: string): void {
    if (this.state === 'closed') return;
    this.uncork();
    this.socket.end(encodeTextFrame(FrameType.CLOSE, 0, reason.slice(0, 1000)));
    this.closed();
    setTimeout(() => this.socket.destroy(), 1_000).unref(); // an edge that never closes its side
  }

  // ---- GenerationOwner ----

  write(frame: Buffer): void {
    if (this.state === 'closed') return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncorkLater);
    }
    this.socket.write(frame);
  }

  writable(): Promise<void> | undefined {
    if (!this.socket.writableNeedDrain || this.state === 'closed') return undefined;
    this.draining ??= new Promise<void>((resolve) => {
      this.drained = () => {
        this.draining = this.drained = undefined;
        resolve();
      };
      this.socket.once('drain', this.drained);
    });
    return this.draining;
  }

  forget(id: number): void {
    this.streams.delete(id);
    if (this.closing && this.streams.size === 0) this.closeWith('the node is shutting down');
  }

  // ---- frames ----

  private onFrame(type: FrameTypeCode, id: number, p: Buffer): void {
    if (this.state === 'auth') return this.onAuth(type, id, p);
    if (id === 0) {
      if (type === FrameType.CLOSE) {
        readMessage(p);
        this.socket.end();
        return this.closed();
      }
      throw new FrameError(`frame type ${type} on stream 0 after the handshake`);
    }
    switch (type) {
      case FrameType.REQUEST:
        return this.onRequest(id, p);
      case FrameType.CANCEL:
        if (p.length !== 0) throw new FrameError(`CANCEL with a ${p.length}-byte payload`);
        return this.known(id)?.cancel();
      case FrameType.CREDIT: {
        const n = readU32(p, 'CREDIT');
        if (n === 0 || n > MAX_GRANT) throw new FrameError(`CREDIT of ${n} tokens`);
        return this.known(id)?.grant(n);
      }
      default:
        throw new FrameError(`frame type ${type} is not one the edge sends`);
    }
  }

  private onAuth(type: FrameTypeCode, id: number, p: Buffer): void {
    if (type !== FrameType.AUTH || id !== 0) return this.refuse('malformed', `expected AUTH on stream 0, got type ${type} on stream ${id}`);
    const v = verifyAnswer(this.opts.key, this.nonce, p, (this.opts.now ?? Date.now)());
    if (!v.ok) return this.refuse(v.reason, `authentication failed (${v.reason})`);
    clearTimeout(this.authTimer);
    this.state = 'open';
    this.decoder.maxFrameBytes = MAX_LINK_FRAME_BYTES;
    this.write(encodeFrame(FrameType.AUTH_OK, 0, nodeProof(this.opts.key, this.nonce, v.edgeNonce)));
  }

  private onRequest(id: number, p: Buffer): void {
    // The edge numbers streams upwards: a reused or lower id is a broken (or hostile) peer.
    if (id <= this.highestId) throw new FrameError(`REQUEST for stream ${id}, not above the last one (${this.highestId})`);
    this.highestId = id;
    const gen = new LinkGeneration(this, id, STREAM_WINDOW_TOKENS);
    const body = p.toString('utf8'); // copied now: the payload is a view into the received chunk
    if (this.closing || this.streams.size >= (this.opts.maxStreams ?? MAX_STREAMS_PER_LINK)) {
      const why = this.closing ? 'the node is shutting down' : `too many streams on this link (${this.streams.size})`;
      this.metrics.requests.inc({ outcome: 'link_busy' });
      return this.write(encodeTextFrame(FrameType.ERROR, id, JSON.stringify({ status: 503, message: why, code: 'link_busy' })));
    }
    this.streams.set(id, gen);
    void gen.run(body);
  }

  /** The stream if it is running; undefined for one that has finished; a FrameError for one never opened. */
  private known(id: number): LinkGeneration | undefined {
    if (id > this.highestId) throw new FrameError(`frame for stream ${id}, which the edge never opened`);
    return this.streams.get(id);
  }

  private refuse(reason: string, message: string): void {
    this.metrics.authFailures.inc({ reason: `link_${reason}` });
    this.closeWith(message);
  }

  private closed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.authTimer);
    this.corked = false;
    const running = [...this.streams.values()];
    this.streams.clear();
    for (const g of running) g.cancel(); // the edge is gone: stop generating for it
    this.drained?.(); // generations waiting for the socket to drain: it never will
    this.opts.onClosed(this);
  }

  private uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }
}

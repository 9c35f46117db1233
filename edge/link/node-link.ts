/**
 * Node-only: one long-lived connection from the edge to a node, carrying many generations at once
 * (frames.ts). It is reached with an HTTP Upgrade on the node's own port (`GET /v1/link`,
 * `Upgrade: abq-link/1`), so a node has one URL for both transports; a node that answers the
 * upgrade with an ordinary response does not offer the link (`LinkUnsupported`), and the edge keeps
 * using HTTP for it. After the 101 the node sends its challenge and the edge authenticates once
 * (auth.ts); only then are requests sent.
 *
 * Frames from the node are untrusted: anything malformed, out of place, for a stream the edge never
 * opened, or beyond a stream's window closes the connection (with a CLOSE frame saying why), and
 * every stream on it fails as it would if the node had died.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { KeyObject } from 'node:crypto';
import {
  encodeFrame, encodeTextFrame, encodeU32Frame, FrameDecoder, FrameError, FrameType, readDone, readError, readMessage, readToken,
  type FrameTypeCode,
} from './frames.ts';
import { answerChallenge, LINK_PATH, LINK_PROTOCOL, readHello, verifyNodeProof } from './auth.ts';
import { LinkStream, type StreamOwner } from './link-stream.ts';

/** Largest frame the edge accepts from a node (tokens, DONE and ERROR frames are small). */
export const MAX_NODE_FRAME_BYTES = 64 * 1024;
/** Upgrade and handshake must finish within this, or the connection is dropped. */
export const HANDSHAKE_TIMEOUT_MS = 5_000;
/** Stream ids wrap before u32 overflow; the connection is replaced long before (see NodeLinks). */
export const MAX_STREAM_ID = 0xffff_ff00;

/** The node answered the upgrade with an ordinary HTTP response: it offers no link. */
export class LinkUnsupported extends Error {
  override name = 'LinkUnsupported';
}

/** The node refused the edge's authentication, or failed to prove it holds the secret (as HTTP's 401). */
export class LinkAuthError extends Error {
  override name = 'LinkAuthError';
  readonly status = 401;
}

/** The node offers the link but cannot take one now (shutting down): 503, as its HTTP API would answer. */
export class LinkBusy extends Error {
  override name = 'LinkBusy';
  readonly status = 503;
}

type LinkState = 'connecting' | 'ready' | 'closed';

export interface NodeLinkOptions {
  host: string;
  port: number;
  key: KeyObject;
  /** `node:<id>`, for error messages. */
  backendId: string;
  /** Called once when the connection is gone. */
  onClosed?: (link: NodeLink) => void;
}

export class NodeLink implements StreamOwner {
  state: LinkState = 'connecting';
  /** Resolves once authenticated; rejects with LinkUnsupported, LinkAuthError or a socket error. */
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (e: Error) => void;
  private socket: Socket | undefined;
  private readonly request: http.ClientRequest;
  private readonly decoder = new FrameDecoder(MAX_NODE_FRAME_BYTES);
  private readonly streams = new Map<number, LinkStream>();
  private lastId = 0;
  private corked = false;
  private nodeNonce: Buffer | undefined;
  private edgeNonce: Buffer | undefined;
  private closeReason = 'the node closed the connection';
  private finished = false;
  private upgraded = false;
  private readonly uncorkLater = () => this.uncork();
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(private readonly opts: NodeLinkOptions) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined); // callers await it; an unobserved failure is not an error here
    this.timer = setTimeout(() => this.close(`no link handshake within ${HANDSHAKE_TIMEOUT_MS} ms`), HANDSHAKE_TIMEOUT_MS);
    const req = (this.request = http.request({ host: opts.host, port: opts.port, path: LINK_PATH, agent: false, headers: { connection: 'Upgrade', upgrade: LINK_PROTOCOL } }));
    req.on('upgrade', (res, socket, head) => {
      if (res.headers.upgrade?.toLowerCase() !== LINK_PROTOCOL) {
        socket.destroy();
        return this.close(`the node upgraded to '${res.headers.upgrade}', not ${LINK_PROTOCOL}`, new LinkUnsupported('wrong protocol'));
      }
      this.attach(socket, head);
    });
    req.on('response', (res) => {
      res.resume();
      const why = `the node answered the upgrade with HTTP ${res.statusCode}`;
      this.close(why, res.statusCode === 503 ? new LinkBusy(why) : new LinkUnsupported(why));
    });
    req.on('error', (e) => this.close(e.message));
    req.end();
  }

  /** Open streams (for tests and metrics). */
  get openStreams(): number {
    return this.streams.size;
  }

  /** Sends a generation (its JSON NodeGenerateBody); only when `state` is 'ready'. */
  open(body: string, signal: AbortSignal | undefined): LinkStream {
    const id = ++this.lastId;
    const stream = new LinkStream(this, id, this.opts.backendId, signal);
    this.streams.set(id, stream);
    this.write(encodeTextFrame(FrameType.REQUEST, id, body));
    if (id >= MAX_STREAM_ID) this.state = 'closed'; // no new streams; NodeLinks opens a fresh link
    return stream;
  }

  /** Closes the connection; open streams fail with `reason`. */
  close(reason: string, readyError: Error = new Error(reason)): void {
    if (this.finished) return;
    this.finished = true;
    this.state = 'closed';
    clearTimeout(this.timer);
    const s = this.socket;
    if (s && !s.destroyed) s.destroy();
    else if (!this.upgraded) this.request.destroy(); // still connecting or upgrading (handshake timeout, shutdown)
    this.rejectReady(readyError); // no-op once resolved
    const open = [...this.streams.values()];
    this.streams.clear();
    for (const stream of open) stream.onLinkClosed(reason);
    this.opts.onClosed?.(this);
  }

  // ---- StreamOwner ----

  sendCancel(id: number): void {
    if (this.socket && !this.socket.destroyed) this.write(encodeFrame(FrameType.CANCEL, id));
  }

  sendCredit(id: number, tokens: number): void {
    if (this.socket && !this.socket.destroyed) this.write(encodeU32Frame(FrameType.CREDIT, id, tokens));
  }

  forget(id: number): void {
    this.streams.delete(id);
    // Retired for running out of stream ids: close once its last stream is done.
    if (this.state === 'closed' && this.streams.size === 0) this.close('stream ids used up');
  }

  // ---- internals ----

  private attach(socket: Socket, head: Buffer): void {
    if (this.finished) return void socket.destroy(); // closed while the upgrade was under way
    this.upgraded = true;
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => (this.closeReason = `link error: ${e.message}`));
    socket.on('close', () => this.close(this.closeReason));
    if (head.length > 0) this.onData(head);
  }

  private onData(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, (type, stream, payload) => this.onFrame(type, stream, payload));
    } catch (e) {
      const message = e instanceof FrameError || e instanceof LinkAuthError ? e.message : `link handler failed: ${(e as Error).message}`;
      this.protocolError(message, e instanceof LinkAuthError ? e : undefined);
    }
  }

  private onFrame(type: FrameTypeCode, id: number, p: Buffer): void {
    if (this.state === 'connecting') return this.onHandshakeFrame(type, id, p);
    if (id === 0) {
      if (type === FrameType.CLOSE) return this.close(`the node closed the link: ${readMessage(p)}`);
      throw new FrameError(`frame type ${type} on stream 0 after the handshake`);
    }
    const stream = this.streams.get(id);
    if (!stream) {
      // Frames after a CANCEL are expected (they crossed it); frames for ids never opened are not.
      if (id > this.lastId) throw new FrameError(`frame for stream ${id}, which the edge never opened`);
      if (type !== FrameType.TOKEN && type !== FrameType.DONE && type !== FrameType.ERROR) throw new FrameError(`unexpected frame type ${type} from the node`);
      return;
    }
    switch (type) {
      case FrameType.TOKEN:
        return stream.onToken(readToken(p));
      case FrameType.DONE:
        readDone(p);
        return stream.onDone();
      case FrameType.ERROR: {
        const e = readError(p);
        return stream.onError(e.status, e.message);
      }
      default:
        throw new FrameError(`unexpected frame type ${type} from the node`);
    }
  }

  private onHandshakeFrame(type: FrameTypeCode, id: number, p: Buffer): void {
    if (id !== 0) throw new FrameError(`frame for stream ${id} before the handshake finished`);
    if (type === FrameType.CLOSE) throw new LinkAuthError(`the node refused the link: ${readMessage(p)}`);
    if (type === FrameType.HELLO && !this.nodeNonce) {
      let nonce: Buffer;
      try {
        nonce = readHello(p);
      } catch (e) {
        throw new FrameError((e as Error).message);
      }
      this.nodeNonce = nonce;
      const answer = answerChallenge(this.opts.key, nonce);
      this.edgeNonce = answer.edgeNonce;
      this.write(encodeFrame(FrameType.AUTH, 0, answer.payload));
      return;
    }
    if (type === FrameType.AUTH_OK && this.nodeNonce && this.edgeNonce) {
      if (!verifyNodeProof(this.opts.key, this.nodeNonce, this.edgeNonce, p)) throw new LinkAuthError('the node could not prove it holds the shared secret');
      clearTimeout(this.timer);
      this.state = 'ready';
      this.resolveReady();
      return;
    }
    throw new FrameError(`unexpected frame type ${type} during the handshake`);
  }

  /** Tells the node why (best effort), then closes. */
  private protocolError(message: string, readyError?: Error): void {
    const s = this.socket;
    if (s && !s.destroyed) {
      this.uncork();
      s.end(encodeTextFrame(FrameType.CLOSE, 0, message.slice(0, 1000)));
      this.socket = undefined; // close() must not destroy it before the reason is flushed
      setTimeout(() => s.destroy(), 1_000).unref(); // in case the node never closes its side
    }
    this.close(`protocol error: ${message}`, readyError ?? new FrameError(message));
  }

  /** Frames written in one tick go out in one writev (many streams finish in the same tick). */
  private write(frame: Buffer): void {
    const s = this.socket!;
    if (!this.corked) {
      this.corked = true;
      s.cork();
      process.nextTick(this.uncorkLater);
    }
    s.write(frame);
  }

  private uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket?.uncork();
  }
}

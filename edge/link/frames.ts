/**
 * Node-only: the frames of the edge-to-node link (docs/EDGE.md, "Node link"), shared by the edge
 * (edge/link/node-link.ts) and the node (gpu-node/server/link/). One TCP connection carries many
 * generations; every frame is
 *
 *     u32 length (big-endian; bytes after this field) | u8 type | u32 stream id | payload
 *
 * Stream 0 is the connection itself (handshake, close); generations use ids >= 1 chosen by the edge.
 * Both sides treat what they read as untrusted: lengths are bounded before any payload is buffered,
 * and every payload is checked against its type's layout (a FrameError closes the connection).
 */

export const FRAME_HEADER_BYTES = 9;

export const FrameType = {
  /** node -> edge, stream 0: u8 protocol version, 32-byte random nonce (the challenge). */
  HELLO: 1,
  /** edge -> node, stream 0: f64 time (ms since epoch), 32-byte edge nonce, 32-byte HMAC (auth.ts). */
  AUTH: 2,
  /** node -> edge, stream 0: 32-byte HMAC over both nonces (the node knows the secret too). */
  AUTH_OK: 3,
  /** either way, stream 0: UTF-8 reason; the sender closes the connection after it. */
  CLOSE: 4,
  /** edge -> node: a generation, JSON NodeGenerateBody (edge/backends/node-protocol.ts). */
  REQUEST: 16,
  /** edge -> node: stop the stream (the client went away, or a stop string matched). */
  CANCEL: 17,
  /** edge -> node: u32 more tokens the edge is ready to take on this stream (flow control). */
  CREDIT: 18,
  /** node -> edge: u32 token id, optionally followed by its f64 log-probability. */
  TOKEN: 32,
  /** node -> edge: u8 finish reason (0 stop, 1 length), u32 completion tokens; the stream ends. */
  DONE: 33,
  /** node -> edge: JSON {status, message, code}; the stream ends. `status` means what HTTP's would. */
  ERROR: 34,
} as const;

export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

const KNOWN_TYPES = new Set<number>(Object.values(FrameType));

/** Tokens a stream may send before the edge grants more (CREDIT); the edge queues at most this many. */
export const STREAM_WINDOW_TOKENS = 256;
/** Bytes of a CLOSE reason or ERROR payload read; longer ones are refused. */
export const MAX_MESSAGE_BYTES = 4096;

/** A malformed or out-of-place frame: the reader closes the connection with this message. */
export class FrameError extends Error {
  override name = 'FrameError';
}

export type FrameHandler = (type: FrameTypeCode, stream: number, payload: Buffer) => void;

/**
 * Splits a byte stream into frames. `maxFrameBytes` bounds the length field (checked as soon as the
 * header is in, before the payload is buffered); the node raises it once the edge has authenticated.
 * Payloads handed to the handler are views into the received chunks: read them before returning.
 */
export class FrameDecoder {
  private pending: Buffer | undefined;

  constructor(public maxFrameBytes: number) {}

  push(chunk: Buffer, onFrame: FrameHandler): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (len < FRAME_HEADER_BYTES - 4) throw new FrameError(`frame length ${len} is shorter than a frame header`);
      if (len + 4 > this.maxFrameBytes) throw new FrameError(`frame of ${len + 4} bytes exceeds the limit of ${this.maxFrameBytes}`);
      if (buf.length - off < len + 4) break;
      const type = buf[off + 4];
      if (!KNOWN_TYPES.has(type)) throw new FrameError(`unknown frame type ${type}`);
      const stream = buf.readUInt32BE(off + 5);
      onFrame(type as FrameTypeCode, stream, buf.subarray(off + FRAME_HEADER_BYTES, off + 4 + len));
      off += 4 + len;
    }
    // Copy the tail: keeping a view would pin the whole received chunk until the frame completes.
    if (off < buf.length) this.pending = Buffer.from(buf.subarray(off));
  }

  /** Bytes of an incomplete frame held back (a peer that stops mid-frame leaves some). */
  get buffered(): number {
    return this.pending?.length ?? 0;
  }
}

/** One frame with an empty or binary payload. */
export function encodeFrame(type: FrameTypeCode, stream: number, payload?: Uint8Array): Buffer {
  const n = payload?.length ?? 0;
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + n);
  buf.writeUInt32BE(FRAME_HEADER_BYTES - 4 + n, 0);
  buf[4] = type;
  buf.writeUInt32BE(stream, 5);
  if (payload) buf.set(payload, FRAME_HEADER_BYTES);
  return buf;
}

/** One frame whose payload is a string (JSON or a reason), written in place without a copy. */
export function encodeTextFrame(type: FrameTypeCode, stream: number, text: string): Buffer {
  const n = Buffer.byteLength(text);
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + n);
  buf.writeUInt32BE(FRAME_HEADER_BYTES - 4 + n, 0);
  buf[4] = type;
  buf.writeUInt32BE(stream, 5);
  buf.write(text, FRAME_HEADER_BYTES, 'utf8');
  return buf;
}

export function encodeToken(stream: number, token: number, logprob?: number): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + (logprob === undefined ? 4 : 12));
  buf.writeUInt32BE(buf.length - 4, 0);
  buf[4] = FrameType.TOKEN;
  buf.writeUInt32BE(stream, 5);
  buf.writeUInt32BE(token, 9);
  if (logprob !== undefined) buf.writeDoubleBE(logprob, 13);
  return buf;
}

export function encodeDone(stream: number, finish: 'stop' | 'length', completionTokens: number): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 5);
  buf.writeUInt32BE(buf.length - 4, 0);
  buf[4] = FrameType.DONE;
  buf.writeUInt32BE(stream, 5);
  buf[9] = finish === 'stop' ? 0 : 1;
  buf.writeUInt32BE(completionTokens, 10);
  return buf;
}

export function encodeU32Frame(type: FrameTypeCode, stream: number, value: number): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  buf.writeUInt32BE(FRAME_HEADER_BYTES, 0);
  buf[4] = type;
  buf.writeUInt32BE(stream, 5);
  buf.writeUInt32BE(value, 9);
  return buf;
}

export interface LinkErrorPayload {
  status: number;
  message: string;
  code: string;
}

export function encodeError(stream: number, e: LinkErrorPayload): Buffer {
  return encodeTextFrame(FrameType.ERROR, stream, JSON.stringify({ status: e.status, message: e.message.slice(0, 1000), code: e.code }));
}

// ---- payload readers: each checks the layout and throws FrameError ----

export function readToken(p: Buffer): { token: number; logprob?: number } {
  if (p.length === 4) return { token: p.readUInt32BE(0) };
  if (p.length === 12) return { token: p.readUInt32BE(0), logprob: p.readDoubleBE(4) };
  throw new FrameError(`TOKEN payload of ${p.length} bytes (expected 4 or 12)`);
}

export function readDone(p: Buffer): { finish: 'stop' | 'length'; completionTokens: number } {
  if (p.length !== 5 || p[0] > 1) throw new FrameError(`malformed DONE payload (${p.length} bytes)`);
  return { finish: p[0] === 0 ? 'stop' : 'length', completionTokens: p.readUInt32BE(1) };
}

export function readU32(p: Buffer, what: string): number {
  if (p.length !== 4) throw new FrameError(`${what} payload of ${p.length} bytes (expected 4)`);
  return p.readUInt32BE(0);
}

export function readMessage(p: Buffer): string {
  if (p.length > MAX_MESSAGE_BYTES) throw new FrameError(`message of ${p.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  return p.toString('utf8');
}

export function readError(p: Buffer): LinkErrorPayload {
  let raw: Partial<LinkErrorPayload>;
  try {
    raw = JSON.parse(readMessage(p)) as Partial<LinkErrorPayload>;
  } catch (e) {
    if (e instanceof FrameError) throw e;
    throw new FrameError('ERROR payload is not JSON');
  }
  if (typeof raw !== 'object' || raw === null || !Number.isInteger(raw.status) || typeof raw.message !== 'string' || typeof raw.code !== 'string') {
    throw new FrameError('ERROR payload lacks status, message or code');
  }
  return { status: raw.status!, message: raw.message, code: raw.code };
}

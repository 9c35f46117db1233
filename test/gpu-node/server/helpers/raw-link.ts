/**
 * A bare link client for tests that play a broken or hostile edge: it upgrades a TCP connection
 * to the node's link by hand, then sends whatever bytes the test wants and collects the frames back.
 */
import net from 'node:net';
import { FrameDecoder, FrameType, type FrameTypeCode } from '../../../../edge/link/frames.ts';
import { LINK_PATH, LINK_PROTOCOL } from '../../../../edge/link/auth.ts';

export interface Frame {
  type: FrameTypeCode;
  stream: number;
  payload: Buffer;
}

export class RawLink {
  readonly frames: Frame[] = [];
  readonly closed: Promise<void>;
  private waiter: (() => void) | undefined;
  private readonly decoder = new FrameDecoder(1 << 20);

  private constructor(readonly socket: net.Socket, head: Buffer) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.on('data', (c: Buffer) => this.take(c));
    socket.on('close', () => this.waiter?.());
    if (head.length) this.take(head);
  }

  /** Connects and upgrades; resolves with the link once the 101 is in, or rejects with the status line. */
  static open(port: number, request = `GET ${LINK_PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: Upgrade\r\nupgrade: ${LINK_PROTOCOL}\r\n\r\n`): Promise<RawLink> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let buf = Buffer.alloc(0);
      const onData = (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        const head = buf.subarray(0, end).toString();
        if (!head.startsWith('HTTP/1.1 101')) {
          socket.destroy();
          return reject(new Error(head.split('\r\n')[0]));
        }
        resolve(new RawLink(socket, buf.subarray(end + 4)));
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.write(request);
    });
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next frame of `type` (and `stream`), earlier other frames kept; undefined once closed. */
  async next(type?: FrameTypeCode, stream?: number): Promise<Frame | undefined> {
    for (;;) {
      const i = this.frames.findIndex((f) => (type === undefined || f.type === type) && (stream === undefined || f.stream === stream));
      if (i >= 0) return this.frames.splice(i, 1)[0];
      if (this.socket.destroyed || this.socket.readableEnded) return undefined;
      await new Promise<void>((r) => (this.waiter = r));
    }
  }

  /** The reason of the CLOSE frame the node sent before closing (undefined if it sent none). */
  async closeReason(): Promise<string | undefined> {
    await this.closed;
    return this.frames.find((f) => f.type === FrameType.CLOSE)?.payload.toString();
  }

  private take(c: Buffer): void {
    this.decoder.push(c, (type, stream, payload) => this.frames.push({ type, stream, payload: Buffer.from(payload) }));
    this.waiter?.();
  }
}

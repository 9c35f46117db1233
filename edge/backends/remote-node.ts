/**
 * A GPU node as an InferenceBackend. On Node the edge reaches it over its link when the node offers
 * one (edge/link/: one authenticated connection carrying many generations); otherwise, and on
 * Workers, over HTTP: requests signed with the shared secret, the token stream the node's SSE, or
 * one JSON piece for short non-streamed requests (see node-protocol.ts). Both paths fail with
 * `NodeError`, whose `beforeFirstToken` flag tells the dispatcher whether retrying on another node
 * is safe, and whose `status` (when set) means what the node's HTTP status would.
 */
import { signRequest, SIGNATURE_HEADER, type SignInput } from '../../shared/auth/index.ts';
import { readSse, type ByteSource } from '../lib/sse-reader.ts';
import type { GenerateRequest, GeneratedToken, InferenceBackend } from './backend.ts';
import { NODE_GENERATE_PATH, type NodeGenerateBody, type NodeTokenEvent, type NodeWholeAnswer } from './node-protocol.ts';
import type { NodeLinkTransport } from '../link/node-links.ts';
import type { LinkStream } from '../link/link-stream.ts';

/**
 * Non-streamed requests up to this many tokens are fetched in one piece (`stream: false`): one write
 * each way instead of SSE events, a done event and the chunked terminator; measured at about 17% less
 * node CPU per request (docs/EDGE.md, "Performance"). Longer ones still stream, so the first-token timeout keeps meaning "the node is silent", not "the
 * answer is long".
 */
export const WHOLE_ANSWER_MAX_TOKENS = 16;

/** The part of a fetch Response the edge reads from nodes; a web Response is one. */
export interface FetchedResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: ByteSource | null;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

/** The global fetch fits; Node passes edge/node-fetch.ts, which skips building web Responses. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<FetchedResponse>;

/** Makes the `x-abq-signature` value: shared/auth's signRequest, or Node's synchronous edge/node-sign.ts. */
export type RequestSigner = (input: SignInput) => string | Promise<string>;

export class NodeError extends Error {
  constructor(
    message: string,
    readonly nodeId: string,
    readonly beforeFirstToken: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'NodeError';
  }
}

export interface RemoteNodeOptions {
  id: string;
  url: string;
  secret: string;
  supports: (model: string) => boolean;
  fetch?: FetchLike;
  sign?: RequestSigner;
  /** The link transport (Node only, edge/link/node-links.ts); without it, HTTP. */
  link?: NodeLinkTransport;
}

export type NodeTransportName = 'http' | 'link';

export class RemoteNodeBackend implements InferenceBackend {
  readonly kind = 'gpu' as const;
  readonly id: string;
  private readonly fetchImpl: FetchLike;
  private readonly sign: RequestSigner;
  /** Generations sent per transport (metrics: which path served). */
  readonly sent: Record<NodeTransportName, number> = { http: 0, link: 0 };

  constructor(private readonly opts: RemoteNodeOptions) {
    this.id = opts.id;
    this.fetchImpl = opts.fetch ?? ((input, init) => fetch(input, init));
    this.sign = opts.sign ?? signRequest;
  }

  supports(model: string): boolean {
    return this.opts.supports(model);
  }

  generate(req: GenerateRequest): AsyncIterable<GeneratedToken> {
    const body: NodeGenerateBody = {
      model: req.model,
      tokens: req.tokens,
      max_tokens: req.maxTokens,
      temperature: req.sampling.temperature,
      top_p: req.sampling.topP,
      top_k: req.sampling.topK,
    };
    if (req.sampling.seed !== undefined) body.seed = req.sampling.seed;
    if (req.stop) body.stop = req.stop;
    if (req.logprobs) body.logprobs = true;
    const link = this.opts.link;
    return link ? { [Symbol.asyncIterator]: () => this.overLink(link, req, body) } : this.overHttp(req, body);
  }

  /**
   * Over the link when the node offers it. With the link up, the link's stream itself is the
   * iterator (no generator in between: one fewer promise chain per token and per request); while
   * the link connects, a generator waits for it; a node without the link is reached over HTTP.
   */
  private overLink(link: NodeLinkTransport, req: GenerateRequest, body: NodeGenerateBody): AsyncIterator<GeneratedToken> {
    let opened;
    try {
      opened = link.open(this.opts.url, this.id, JSON.stringify(body), req.signal);
    } catch (e) {
      const error = this.linkError(e, req);
      return { next: () => Promise.reject(error), return: () => Promise.resolve({ done: true, value: undefined }) };
    }
    if (opened instanceof Promise) return this.afterConnect(opened, req, body);
    if (!opened) return this.overHttp(req, body);
    this.sent.link++;
    return opened;
  }

  private async *afterConnect(opening: Promise<LinkStream | undefined>, req: GenerateRequest, body: NodeGenerateBody): AsyncGenerator<GeneratedToken> {
    let opened;
    try {
      opened = await opening;
    } catch (e) {
      throw this.linkError(e, req);
    }
    if (!opened) return yield* this.overHttp(req, body);
    this.sent.link++;
    yield* opened;
  }

  /** A link that could not be opened fails as HTTP would: with a status (401 refused, 503 shutting down) or as unreachable. */
  private linkError(e: unknown, req: GenerateRequest): unknown {
    if (req.signal?.aborted) return e;
    const status = (e as { status?: number }).status;
    return new NodeError(`node ${this.id} ${status === undefined ? 'unreachable' : 'refused the link'}: ${(e as Error).message}`, this.id, true, status);
  }

  private async *overHttp(req: GenerateRequest, body: NodeGenerateBody): AsyncGenerator<GeneratedToken> {
    this.sent.http++;
    const whole = req.wholeAnswer === true && req.maxTokens <= WHOLE_ANSWER_MAX_TOKENS;
    if (whole) body.stream = false;
    const text = JSON.stringify(body);
    const signed = this.sign({ secret: this.opts.secret, method: 'POST', path: NODE_GENERATE_PATH, body: text });
    const signature = typeof signed === 'string' ? signed : await signed;
    let res: FetchedResponse;
    try {
      res = await this.fetchImpl(this.opts.url + NODE_GENERATE_PATH, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: whole ? 'application/json' : 'text/event-stream', [SIGNATURE_HEADER]: signature },
        body: text,
        signal: req.signal,
      });
    } catch (e) {
      if (req.signal?.aborted) throw e;
      throw new NodeError(`node ${this.id} unreachable: ${(e as Error).message}`, this.id, true);
    }
    if (res.status !== 200 || !res.body) {
      const detail = await res.text().catch(() => '');
      throw new NodeError(`node ${this.id} answered HTTP ${res.status}: ${detail.slice(0, 300)}`, this.id, true, res.status);
    }
    // A node that predates `stream: false` answers SSE anyway: read whichever came.
    if (whole && res.headers.get('content-type')?.startsWith('application/json')) {
      let answer: NodeWholeAnswer;
      try {
        answer = (await res.json()) as NodeWholeAnswer;
      } catch (e) {
        if (req.signal?.aborted) throw e;
        throw new NodeError(`node ${this.id} sent an unreadable answer: ${(e as Error).message}`, this.id, true);
      }
      if (!Array.isArray(answer?.tokens)) throw new NodeError(`node ${this.id} sent an answer without tokens`, this.id, true);
      for (const ev of answer.tokens) yield ev.logprob === undefined ? { token: ev.token } : { token: ev.token, logprob: ev.logprob };
      return;
    }
    let emitted = 0;
    let done = false;
    try {
      for await (const msg of readSse(res.body)) {
        if (msg.event === 'message') {
          const ev = JSON.parse(msg.data) as NodeTokenEvent;
          emitted++;
          yield ev.logprob === undefined ? { token: ev.token } : { token: ev.token, logprob: ev.logprob };
        } else if (msg.event === 'done') {
          // Read on to the end of the body (the node closes it right after `done`) instead of
          // cancelling, which would destroy the keep-alive connection.
          done = true;
        } else if (msg.event === 'error') {
          const err = JSON.parse(msg.data) as { message?: string };
          throw new NodeError(`node ${this.id} failed: ${err.message ?? msg.data}`, this.id, emitted === 0);
        }
      }
    } catch (e) {
      if (e instanceof NodeError || req.signal?.aborted) throw e;
      throw new NodeError(`node ${this.id} stream broke: ${(e as Error).message}`, this.id, emitted === 0);
    }
    if (!done) throw new NodeError(`node ${this.id} closed the stream without finishing`, this.id, emitted === 0);
  }
}

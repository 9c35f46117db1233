/**
 * Turns the JSON of /v1/completions and /v1/chat/completions into typed requests, early, so no
 * handler touches raw JSON (llama.cpp server's rule). Every rejection is a 400 naming the parameter,
 * the value and the accepted range.
 */
import { invalidParam, ApiError } from '../errors.ts';
import type { ChatMessage } from '../tokenizer.ts';

export const LIMITS = {
  maxStopSequences: 4,
  maxStopLength: 256,
  maxMessages: 512,
  maxTopK: 1_000_000,
  maxTemperature: 2,
} as const;

export interface CommonRequest {
  model: string;
  /** Undefined: the server default (capped by the context left). */
  maxTokens: number | undefined;
  temperature: number;
  topP: number;
  topK: number;
  seed: number | undefined;
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
}

export interface CompletionRequest extends CommonRequest {
  prompt: string | number[];
}

export interface ChatRequest extends CommonRequest {
  messages: ChatMessage[];
}

type Json = Record<string, unknown>;

const CHAT_ROLES = new Set(['system', 'user', 'assistant', 'developer', 'tool']);

export function parseJsonBody(text: string): Json {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new ApiError(`request body is not valid JSON (${(e as Error).message}); send a JSON object with Content-Type: application/json`, {
      type: 'invalid_request_error',
      code: 'invalid_json',
    });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError('request body must be a JSON object', { type: 'invalid_request_error', code: 'invalid_json' });
  }
  return body as Json;
}

interface NumOptions {
  integer?: boolean;
  minExclusive?: boolean;
}

const NO_NUM_OPTIONS: NumOptions = {};
const INTEGER: NumOptions = { integer: true };
const MIN_EXCLUSIVE: NumOptions = { minExclusive: true };

function rangeText(min: number, max: number, opts: NumOptions): string {
  return `${opts.minExclusive ? '(' : '['}${min}, ${max}]`;
}

function num(body: Json, name: string, fallback: number, min: number, max: number, opts: NumOptions = NO_NUM_OPTIONS): number {
  const v = body[name];
  if (v === undefined || v === null) return fallback;
  // Messages are built only for a rejection: this runs for several fields of every request.
  if (typeof v !== 'number' || !Number.isFinite(v) || (opts.integer && !Number.isInteger(v))) {
    throw invalidParam(name, `'${name}' must be ${opts.integer ? 'an integer' : 'a number'} in ${rangeText(min, max, opts)}; got ${JSON.stringify(v)}`, 'invalid_type');
  }
  if (v < min || v > max || (opts.minExclusive && v === min)) throw invalidParam(name, `'${name}' is ${v}; it must be in ${rangeText(min, max, opts)}`, 'out_of_range');
  return v;
}

function parseStop(body: Json): string[] {
  const v = body.stop;
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) throw invalidParam('stop', "'stop' must be a string or an array of strings", 'invalid_type');
  if (list.length > LIMITS.maxStopSequences) throw invalidParam('stop', `'stop' has ${list.length} sequences; at most ${LIMITS.maxStopSequences} are allowed`, 'out_of_range');
  for (const s of list as string[]) {
    if (s.length === 0 || s.length > LIMITS.maxStopLength) throw invalidParam('stop', `each stop sequence must be 1..${LIMITS.maxStopLength} characters; got ${s.length}`, 'out_of_range');
  }
  return list as string[];
}

function rejectUnsupported(body: Json): void {
  const n = body.n;
  if (n !== undefined && n !== null && n !== 1) throw invalidParam('n', `'n' is ${JSON.stringify(n)}; only n=1 is supported`, 'unsupported_value');
  for (const p of ['presence_penalty', 'frequency_penalty'] as const) {
    const v = body[p];
    if (v !== undefined && v !== null && v !== 0) throw invalidParam(p, `'${p}' is not supported; omit it or send 0`, 'unsupported_value');
  }
  const lp = body.logprobs;
  if (lp !== undefined && lp !== null && lp !== false) throw invalidParam('logprobs', "'logprobs' is not supported by this edge yet; omit it", 'unsupported_value');
  if (body.best_of !== undefined && body.best_of !== null && body.best_of !== 1) throw invalidParam('best_of', "only 'best_of' = 1 is supported", 'unsupported_value');
  if (body.echo === true) throw invalidParam('echo', "'echo' is not supported; omit it", 'unsupported_value');
}

function parseCommon(body: Json, maxTokensCap: number, maxTokensField: 'max_tokens' | 'max_completion_tokens' = 'max_tokens'): CommonRequest {
  const model = body.model;
  if (typeof model !== 'string' || model.length === 0 || model.length > 256) {
    throw invalidParam('model', "'model' is required: a model id from GET /v1/models", 'missing_required_parameter');
  }
  rejectUnsupported(body);
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') throw invalidParam('stream', "'stream' must be true or false", 'invalid_type');
  const so = body.stream_options;
  if (so !== undefined && so !== null && (typeof so !== 'object' || Array.isArray(so))) throw invalidParam('stream_options', "'stream_options' must be an object", 'invalid_type');
  const includeUsage = !!(so as { include_usage?: unknown } | null)?.include_usage;
  const field = body[maxTokensField] !== undefined && body[maxTokensField] !== null ? maxTokensField : 'max_tokens';
  const maxTokens = body[field] === undefined || body[field] === null ? undefined : num(body, field, 0, 1, maxTokensCap, INTEGER);
  const seed = body.seed === undefined || body.seed === null ? undefined : num(body, 'seed', 0, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, INTEGER);
  return {
    model,
    maxTokens,
    temperature: num(body, 'temperature', 1, 0, LIMITS.maxTemperature),
    topP: num(body, 'top_p', 1, 0, 1, MIN_EXCLUSIVE),
    topK: num(body, 'top_k', 0, 0, LIMITS.maxTopK, INTEGER),
    seed,
    stop: parseStop(body),
    stream: body.stream === true,
    includeUsage,
  };
}

export function parseCompletionRequest(body: Json, maxTokensCap: number): CompletionRequest {
  const common = parseCommon(body, maxTokensCap);
  let prompt = body.prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') prompt = prompt[0];
  if (typeof prompt === 'string') return { ...common, prompt };
  if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((t) => Number.isInteger(t) && t >= 0)) return { ...common, prompt: prompt as number[] };
  if (Array.isArray(prompt) && prompt.length > 1) throw invalidParam('prompt', "batched prompts are not supported; send one prompt (a string or an array of token ids) per request", 'unsupported_value');
  throw invalidParam('prompt', "'prompt' is required: a string, or a non-empty array of token ids", prompt === undefined ? 'missing_required_parameter' : 'invalid_type');
}

function messageText(content: unknown, i: number): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part, j) => {
        const p = part as { type?: unknown; text?: unknown };
        if (p?.type !== 'text' || typeof p.text !== 'string') throw invalidParam(`messages[${i}].content[${j}]`, 'only text content parts ({"type":"text","text":...}) are supported', 'unsupported_value');
        return p.text;
      })
      .join('');
  }
  throw invalidParam(`messages[${i}].content`, 'message content must be a string or an array of text parts', 'invalid_type');
}

export function parseChatRequest(body: Json, maxTokensCap: number): ChatRequest {
  const common = parseCommon(body, maxTokensCap, 'max_completion_tokens');
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) throw invalidParam('messages', "'messages' must be a non-empty array of {role, content}", messages === undefined ? 'missing_required_parameter' : 'invalid_type');
  if (messages.length > LIMITS.maxMessages) throw invalidParam('messages', `${messages.length} messages; at most ${LIMITS.maxMessages} are allowed`, 'out_of_range');
  return {
    ...common,
    messages: messages.map((m, i) => {
      const role = (m as { role?: unknown })?.role;
      if (typeof role !== 'string' || !CHAT_ROLES.has(role)) throw invalidParam(`messages[${i}].role`, `role ${JSON.stringify(role)} is not one of ${[...CHAT_ROLES].join(', ')}`, 'invalid_value');
      return { role: role as ChatMessage['role'], content: messageText((m as { content?: unknown }).content, i) };
    }),
  };
}

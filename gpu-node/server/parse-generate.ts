/** Validates a POST /v1/generate body (node-protocol.ts) into a GenerateRequest; errors name the field. */
import type { GenerateRequest } from '../../edge/backends/backend.ts';
import type { NodeGenerateBody } from '../../edge/backends/node-protocol.ts';

export const MAX_PROMPT_TOKENS = 1 << 17;
const MAX_STOP_SEQUENCES = 16;

export class BadRequest extends Error {}

/** A generate request plus how to answer it: SSE (`stream`, the default) or one JSON piece. */
export type NodeGenerateRequest = GenerateRequest & { stream: boolean };

function finite(v: unknown, name: string, min: number, max: number, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
    throw new BadRequest(`${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

export function parseGenerateBody(text: string): NodeGenerateRequest {
  let raw: Partial<NodeGenerateBody>;
  try {
    raw = JSON.parse(text) as Partial<NodeGenerateBody>;
  } catch (e) {
    throw new BadRequest(`body is not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null) throw new BadRequest('body must be a JSON object');
  if (typeof raw.model !== 'string' || !raw.model) throw new BadRequest('model must be a non-empty string');
  if (!Array.isArray(raw.tokens) || raw.tokens.length === 0 || raw.tokens.length > MAX_PROMPT_TOKENS) throw new BadRequest(`tokens must be an array of 1..${MAX_PROMPT_TOKENS} token ids`);
  raw.tokens.forEach((t, i) => finite(t, `tokens[${i}]`, 0, 2 ** 31 - 1, true));
  const stop = raw.stop;
  if (stop !== undefined && (!Array.isArray(stop) || stop.length > MAX_STOP_SEQUENCES || stop.some((s) => !Array.isArray(s) || s.some((t) => !Number.isInteger(t))))) {
    throw new BadRequest(`stop must be an array of at most ${MAX_STOP_SEQUENCES} token-id arrays`);
  }
  if (raw.stream !== undefined && typeof raw.stream !== 'boolean') throw new BadRequest(`stream must be a boolean, got ${JSON.stringify(raw.stream)}`);
  return {
    model: raw.model,
    tokens: raw.tokens,
    maxTokens: finite(raw.max_tokens, 'max_tokens', 1, 1 << 20, true),
    sampling: {
      temperature: finite(raw.temperature ?? 1, 'temperature', 0, 100),
      topP: raw.top_p === undefined ? 1 : finite(raw.top_p, 'top_p', Number.MIN_VALUE, 1),
      topK: finite(raw.top_k ?? 0, 'top_k', 0, 1 << 24, true),
      seed: raw.seed === undefined ? undefined : finite(raw.seed, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true),
    },
    stop,
    logprobs: raw.logprobs === true,
    stream: raw.stream !== false,
  };
}

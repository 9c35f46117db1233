/**
 * Shared pieces for the edge tests: the stories260K tokenizer (from ../shared), configs, a scripted
 * backend that yields chosen token ids (and can fail on cue), and an SSE reader for responses.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { STORIES260K_DIR } from '../../helpers/shared-data.ts';
import { parseEdgeConfig, type EdgeConfig, type EnvRecord } from '../../../edge/config.ts';
import { edgeTokenizerFromSources, type EdgeTokenizer } from '../../../edge/tokenizer.ts';
import type { GenerateRequest, GeneratedToken, InferenceBackend } from '../../../edge/backends/backend.ts';
import { yieldToEventLoop } from '../../../edge/backends/local-model.ts';
import type { ServedModel } from '../../../edge/runtime-types.ts';

import { TEST_KEY } from './constants.ts';

export { TEST_KEY, TEST_SECRET } from './constants.ts';

export function storiesTokenizer(): EdgeTokenizer {
  const dir = STORIES260K_DIR!;
  return edgeTokenizerFromSources({
    tokenizerJson: readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'),
    tokenizerConfig: readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'),
    extraEosIds: 2,
  });
}

export function storiesModel(tokenizer = storiesTokenizer()): ServedModel {
  return { id: 'stories260K', tokenizer, contextLength: 512, created: 1_700_000_000 };
}

export function testConfig(env: EnvRecord = {}): EdgeConfig {
  return parseEdgeConfig({ ABQ_API_KEYS: `test:${TEST_KEY}`, ...env });
}

export interface ScriptedBackendOptions {
  id?: string;
  kind?: InferenceBackend['kind'];
  model?: string;
  tokens: number[];
  /** Throw after yielding this many tokens. */
  failAfter?: number;
}

/** A backend that yields a fixed token list (stopping on stop sequences and maxTokens like a real one). */
export function scriptedBackend(opts: ScriptedBackendOptions): InferenceBackend & { calls: GenerateRequest[] } {
  const calls: GenerateRequest[] = [];
  return {
    id: opts.id ?? 'wasm:scripted',
    kind: opts.kind ?? 'wasm',
    calls,
    supports: (model) => model === (opts.model ?? 'stories260K'),
    async *generate(req: GenerateRequest): AsyncGenerator<GeneratedToken> {
      calls.push(req);
      let n = 0;
      for (const token of opts.tokens) {
        if (opts.failAfter !== undefined && n >= opts.failAfter) throw new Error('scripted failure');
        await yieldToEventLoop();
        if (req.signal?.aborted) return;
        yield { token };
        n++;
        if (n >= req.maxTokens || req.stop?.some((s) => s.length === 1 && s[0] === token)) return;
      }
    },
  };
}

export interface SseEvent {
  event: string;
  data: string;
}

export async function readSseText(res: Response): Promise<SseEvent[]> {
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((b) => b.trim())
    .map((block) => {
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      return { event, data: data.join('\n') };
    });
}

export function post(path: string, body: unknown, headers: Record<string, string> = {}): Request {
  return new Request(`http://edge.test${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_KEY}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/**
 * The shared path of both generation endpoints: context checks, dispatch to a backend (GPU node or
 * WASM fallback), then either one JSON response or an SSE stream in OpenAI's format:
 *
 *     data: {"id":"chatcmpl-..","object":"chat.completion.chunk","choices":[{"delta":{"content":"Once"}}],..}
 *     ...
 *     data: {..,"choices":[{"delta":{},"finish_reason":"stop"}]}
 *     data: {..,"choices":[],"usage":{..}}          (only with stream_options.include_usage)
 *     data: [DONE]
 *
 * When the backend dies mid-stream the client gets `data: {"error":{..}}` and the stream closes
 * (the openai SDK raises it as an APIError). Response headers name the path that served:
 * `x-abq-served-by: gpu|wasm`, `x-abq-backend: node:a`, `x-abq-retries`.
 */
import type { Context } from 'hono';
import { ApiError, toApiError } from '../errors.ts';
import type { EdgeRuntime, ServedModel } from '../runtime-types.ts';
import { dispatch } from '../serve/dispatch.ts';
import { textStream, type StreamEnd, type TextDelta } from '../serve/text-stream.ts';
import type { CommonRequest } from './parse-request.ts';
import { responseId, type ResponseShape, type Usage } from './openai-shapes.ts';
import { jsonResponse } from '../middleware/cors.ts';
import { eventStreamResponse } from '../lib/event-stream.ts';

const encoder = new TextEncoder();
const sse = (payload: unknown): Uint8Array => encoder.encode(`data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`);

export function resolveMaxTokens(rt: EdgeRuntime, model: ServedModel, req: CommonRequest, promptTokens: number): number {
  const left = model.contextLength - promptTokens;
  if (left < 1) {
    throw new ApiError(`the prompt is ${promptTokens} tokens; model '${model.id}' has a context of ${model.contextLength} tokens, so it must be shorter`, {
      type: 'invalid_request_error',
      code: 'context_length_exceeded',
      param: 'prompt',
    });
  }
  if (req.maxTokens === undefined) return Math.min(rt.config.defaultMaxTokens, left);
  if (req.maxTokens > left) {
    throw new ApiError(
      `this model's maximum context length is ${model.contextLength} tokens; you asked for ${promptTokens + req.maxTokens} (${promptTokens} in the prompt, ${req.maxTokens} for the completion); lower max_tokens to at most ${left}`,
      { type: 'invalid_request_error', code: 'context_length_exceeded', param: 'max_tokens' },
    );
  }
  return req.maxTokens;
}

function usageOf(promptTokens: number, end: StreamEnd): Usage {
  return { prompt_tokens: promptTokens, completion_tokens: end.completionTokens, total_tokens: promptTokens + end.completionTokens };
}

/** Stop sequences of a model's EOS ids, made once per tokenizer rather than per request. */
const eosStops = new WeakMap<ServedModel['tokenizer'], number[][]>();

function stopsOf(model: ServedModel): number[][] {
  let stops = eosStops.get(model.tokenizer);
  if (!stops) eosStops.set(model.tokenizer, (stops = model.tokenizer.eosIds.map((id) => [id])));
  return stops;
}

/** Request duration and count by endpoint, serving path and HTTP status. */
function countRequest(rt: EdgeRuntime, endpoint: string, path: string, started: number, status: number): void {
  rt.metrics.duration.observe({ endpoint, served_by: path }, (rt.now() - started) / 1000);
  rt.metrics.requests.inc({ endpoint, served_by: path, status: String(status) });
}

export async function runGeneration(c: Context, rt: EdgeRuntime, endpoint: string, model: ServedModel, promptTokens: number[], req: CommonRequest, shape: ResponseShape): Promise<Response> {
  const started = rt.now();
  const maxTokens = resolveMaxTokens(rt, model, req, promptTokens.length);
  const d = await dispatch(rt.dispatchDeps, {
    model: model.id,
    tokens: promptTokens,
    sampling: { temperature: req.temperature, topP: req.topP, topK: req.topK, seed: req.seed },
    maxTokens,
    stop: stopsOf(model),
    wholeAnswer: !req.stream,
    onClientGone(abort) {
      rt.io.onClientGone(c, abort);
    },
  });
  rt.metrics.ttft.observe({ served_by: d.path }, (rt.now() - started) / 1000);
  const headers: Record<string, string> = { 'x-abq-served-by': d.path, 'x-abq-backend': d.backendId, 'x-abq-retries': String(d.retries) };
  c.set('servedBy', d.path);
  const id = responseId(shape.idPrefix);
  const created = Math.floor(Date.now() / 1000);
  const base = { id, object: shape.chunkObject, created, model: model.id, system_fingerprint: null };
  const gen = textStream(d, model.tokenizer, req.stop, maxTokens);

  if (!req.stream) {
    let text = '';
    let r: IteratorResult<TextDelta, StreamEnd>;
    try {
      while (!(r = await gen.next()).done) text += r.value.text;
    } catch (e) {
      countRequest(rt, endpoint, d.path, started, 502);
      throw new ApiError(`the backend ${d.backendId} failed while generating: ${(e as Error).message}; retry the request`, { type: 'server_error', code: 'backend_failed', status: 502, headers, cause: e });
    }
    rt.metrics.tokens.inc({ model: model.id, served_by: d.path }, r.value.completionTokens);
    countRequest(rt, endpoint, d.path, started, 200);
    const answer = { id, object: shape.object, created, model: model.id, system_fingerprint: null, choices: [shape.fullChoice(text, r.value.finishReason)], usage: usageOf(promptTokens.length, r.value) };
    return jsonResponse(c, answer, 200, headers);
  }

  let first = true;
  let finished = false;
  const usageField = req.includeUsage ? { usage: null } : {};
  const body = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      if (finished) return;
      try {
        const r = await gen.next();
        if (!r.done) {
          ctrl.enqueue(sse({ ...base, choices: [shape.deltaChoice(r.value.text, first)], ...usageField }));
          first = false;
          return;
        }
        finished = true;
        rt.metrics.tokens.inc({ model: model.id, served_by: d.path }, r.value.completionTokens);
        ctrl.enqueue(sse({ ...base, choices: [shape.endChoice(r.value.finishReason)], ...usageField }));
        if (req.includeUsage) ctrl.enqueue(sse({ ...base, choices: [], usage: usageOf(promptTokens.length, r.value) }));
        ctrl.enqueue(sse('[DONE]'));
        ctrl.close();
        countRequest(rt, endpoint, d.path, started, 200);
      } catch (e) {
        finished = true;
        const err = toApiError(e);
        const message = e instanceof ApiError ? err.message : `the backend ${d.backendId} failed mid-stream: ${(e as Error).message}; the text so far is incomplete, retry the request`;
        rt.metrics.requests.inc({ endpoint, served_by: d.path, status: 'stream_error' });
        ctrl.enqueue(sse({ error: { message, type: 'server_error', param: null, code: 'backend_failed_mid_stream' } }));
        ctrl.close();
      }
    },
    cancel() {
      // The client went away: the node is not at fault, so release before aborting.
      finished = true;
      d.release(true);
      d.abort();
      void gen.return(undefined as never).catch(() => undefined);
      countRequest(rt, endpoint, d.path, started, 499);
    },
  });
  return eventStreamResponse(body, { 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no', ...headers });
}

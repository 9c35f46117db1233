/**
 * POST /v1/completions and POST /v1/chat/completions: parse, find the model, tokenize at the edge,
 * then hand token ids to run-generation.ts.
 */
import type { Context } from 'hono';
import { ApiError, invalidParam } from '../errors.ts';
import type { EdgeEnv, EdgeRuntime, ServedModel } from '../runtime-types.ts';
import { parseChatRequest, parseCompletionRequest, parseJsonBody } from './parse-request.ts';
import { chatShape, completionShape } from './openai-shapes.ts';
import { runGeneration } from './run-generation.ts';

function findModel(rt: EdgeRuntime, id: string): ServedModel {
  const m = rt.models.get(id);
  if (!m) {
    throw new ApiError(`the model '${id}' does not exist on this edge; GET /v1/models lists the available ones (${[...rt.models.keys()].join(', ') || 'none'})`, {
      type: 'not_found_error',
      code: 'model_not_found',
      param: 'model',
    });
  }
  return m;
}

export function completionsHandler(rt: EdgeRuntime) {
  return async function completions(c: Context<EdgeEnv>): Promise<Response> {
    const req = parseCompletionRequest(parseJsonBody(await rt.io.text(c, rt.config.maxBodyBytes)), rt.config.maxTokensCap);
    const model = findModel(rt, req.model);
    let tokens: number[];
    if (typeof req.prompt === 'string') {
      tokens = model.tokenizer.encode(req.prompt, { addBos: true });
    } else {
      const bad = req.prompt.find((t) => t >= model.tokenizer.vocabSize);
      if (bad !== undefined) throw invalidParam('prompt', `token id ${bad} is outside the vocabulary of '${model.id}' (size ${model.tokenizer.vocabSize})`, 'out_of_range');
      tokens = req.prompt;
    }
    return runGeneration(c, rt, 'completions', model, tokens, req, completionShape);
  };
}

export function chatCompletionsHandler(rt: EdgeRuntime) {
  return async function chatCompletions(c: Context<EdgeEnv>): Promise<Response> {
    const req = parseChatRequest(parseJsonBody(await rt.io.text(c, rt.config.maxBodyBytes)), rt.config.maxTokensCap);
    const model = findModel(rt, req.model);
    let tokens: number[];
    try {
      tokens = model.tokenizer.encodeChat(req.messages);
    } catch (e) {
      // A template may refuse a conversation (raise_exception, e.g. roles out of order): the client's fault.
      if (/refused the conversation/.test((e as Error).message)) throw invalidParam('messages', (e as Error).message, 'invalid_conversation');
      throw e;
    }
    return runGeneration(c, rt, 'chat_completions', model, tokens, req, chatShape);
  };
}

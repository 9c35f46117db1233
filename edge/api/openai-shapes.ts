/**
 * The OpenAI response objects for the two generation endpoints, side by side, so one runner
 * (run-generation.ts) serves both. Shapes follow the OpenAI API reference for `text_completion`,
 * `chat.completion` and `chat.completion.chunk`.
 */
import type { FinishReason } from '../serve/text-stream.ts';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ResponseShape {
  idPrefix: string;
  object: string;
  chunkObject: string;
  /** A streamed piece of text (`first`: the first chunk of the response). */
  deltaChoice(text: string, first: boolean): object;
  /** The closing streamed choice carrying finish_reason. */
  endChoice(finish: FinishReason): object;
  /** The whole choice of a non-streamed response. */
  fullChoice(text: string, finish: FinishReason): object;
}

export const completionShape: ResponseShape = {
  idPrefix: 'cmpl-',
  object: 'text_completion',
  chunkObject: 'text_completion',
  deltaChoice: (text) => ({ index: 0, text, logprobs: null, finish_reason: null }),
  endChoice: (finish) => ({ index: 0, text: '', logprobs: null, finish_reason: finish }),
  fullChoice: (text, finish) => ({ index: 0, text, logprobs: null, finish_reason: finish }),
};

export const chatShape: ResponseShape = {
  idPrefix: 'chatcmpl-',
  object: 'chat.completion',
  chunkObject: 'chat.completion.chunk',
  deltaChoice: (text, first) => ({ index: 0, delta: first ? { role: 'assistant', content: text } : { content: text }, logprobs: null, finish_reason: null }),
  endChoice: (finish) => ({ index: 0, delta: {}, logprobs: null, finish_reason: finish }),
  fullChoice: (text, finish) => ({ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: finish }),
};

/** Random per process, then a counter: ids are unique without a getrandom call per response. */
let idPrefix: string | undefined;
let idCounter = 0;

export function responseId(prefix: string): string {
  if (idPrefix === undefined) {
    idPrefix = '';
    for (const b of crypto.getRandomValues(new Uint8Array(8))) idPrefix += b.toString(16).padStart(2, '0');
  }
  return `${prefix}${idPrefix}${(idCounter++).toString(16).padStart(8, '0')}`;
}

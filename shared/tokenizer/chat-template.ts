/**
 * Chat templates: the Jinja template of tokenizer_config.json (`chat_template`), rendered with
 * @huggingface/jinja and the same variables transformers passes (`messages`, `add_generation_prompt`,
 * `bos_token`, `eos_token`, the other special-token strings of the config; jinja adds `raise_exception`).
 *
 * Base models (stories260K, the tinyllamas, Llama 2 base) ship no template. For them we use
 * FALLBACK_CHAT_TEMPLATE, a plain transcript a completion model can continue:
 *
 *   <s>{system}\n\n          (each system message, as plain text)
 *   User: {content}\n        (each user message)
 *   Assistant: {content}</s>\n  (each earlier assistant message, closed with EOS)
 *   Assistant:               (when add_generation_prompt is true, the default)
 *
 * Runtime-free (no node: imports).
 */
import { Template } from '@huggingface/jinja';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | (string & {});
  content: string;
}

export interface ChatTemplateOptions {
  /** End with the opening of the assistant's turn, so the model answers. Default true. */
  addGenerationPrompt?: boolean;
  /** Extra variables for the template (e.g. `tools`, `date_string`). */
  extraVariables?: Record<string, unknown>;
}

export const FALLBACK_CHAT_TEMPLATE =
  '{{ bos_token }}' +
  '{% for message in messages %}' +
  "{% if message['role'] == 'system' %}{{ message['content'] }}\n\n" +
  "{% elif message['role'] == 'user' %}User: {{ message['content'] }}\n" +
  "{% else %}Assistant: {{ message['content'] }}{{ eos_token }}\n" +
  '{% endif %}' +
  '{% endfor %}' +
  '{% if add_generation_prompt %}Assistant:{% endif %}';

/** Parsed templates, by text: parsing is the slow part and the same few templates come back every request. */
const TEMPLATE_CACHE_LIMIT = 16;
const templateCache = new Map<string, Template>();

/**
 * tokenizer_config.json's chat_template is either a string or a list of {name, template}; the list's
 * "default" entry is the chat template (others are for tool use or RAG).
 */
export function pickChatTemplate(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw;
  if (Array.isArray(raw)) {
    const named = raw as { name?: unknown; template?: unknown }[];
    const entry = named.find((t) => t.name === 'default') ?? named[0];
    return typeof entry?.template === 'string' ? entry.template : undefined;
  }
  return undefined;
}

export interface RenderContext extends ChatTemplateOptions {
  bosToken: string;
  eosToken: string;
  /** tokenizer_config.json, for its other special-token strings (unk_token, pad_token, ...). */
  config: Record<string, unknown>;
}

export function renderChatTemplate(template: string | undefined, messages: readonly ChatMessage[], ctx: RenderContext): string {
  for (const [i, m] of messages.entries()) {
    if (typeof m?.role !== 'string' || typeof m.content !== 'string') {
      throw new TypeError(`chat message ${i} must be { role: string, content: string }, got ${JSON.stringify(m)}`);
    }
  }
  const source = template ?? FALLBACK_CHAT_TEMPLATE;
  let parsed = templateCache.get(source);
  if (!parsed) {
    parsed = new Template(source);
    if (templateCache.size >= TEMPLATE_CACHE_LIMIT) templateCache.delete(templateCache.keys().next().value as string);
    templateCache.set(source, parsed);
  }
  const specialTokens: Record<string, string> = {};
  for (const [key, value] of Object.entries(ctx.config)) {
    if (!key.endsWith('_token')) continue;
    if (typeof value === 'string') specialTokens[key] = value;
    else if (value && typeof (value as { content?: unknown }).content === 'string') specialTokens[key] = (value as { content: string }).content;
  }
  try {
    // @huggingface/jinja provides raise_exception itself.
    return parsed.render({
      ...specialTokens,
      ...ctx.extraVariables,
      messages,
      bos_token: ctx.bosToken,
      eos_token: ctx.eosToken,
      add_generation_prompt: ctx.addGenerationPrompt ?? true,
    });
  } catch (err) {
    throw new Error(`the chat template failed on this conversation: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * A thin wrapper over @huggingface/tokenizers (tokenizers.js) for LLaMA-family models. It fixes the
 * few things our callers need and the library leaves loose: BOS handling by explicit flag, EOS ids
 * (tokenizer_config plus the model's generation config), id validation on decode, an empty-ids
 * decode, and chat templates.
 *
 * Runtime-free: no node: imports, so it runs unchanged in Node, browsers and workerd (the edge router).
 * Reading files from a folder is in load-tokenizer.ts (Node only).
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { WordCutEncoder, wordCutIsExact } from './word-cut-encoder.ts';
import { type ChatMessage, type ChatTemplateOptions, renderChatTemplate, pickChatTemplate } from './chat-template.ts';

/** The JSON documents a tokenizer is built from, either as text (as read from disk or a Text module) or parsed. */
export interface TokenizerSources {
  /** tokenizer.json */
  tokenizerJson: string | object;
  /** tokenizer_config.json (optional: defaults are those of a LLaMA tokenizer) */
  tokenizerConfig?: string | object | null;
  /**
   * Extra end-of-sequence ids, usually `eos_token_id` of generation_config.json or config.json (a
   * number or a list: Llama 3 and chat models stop on several ids).
   */
  extraEosIds?: number | readonly number[] | null;
}

export interface EncodeOptions {
  /** Prepend the BOS id. Default: tokenizer_config's add_bos_token (true when absent and a BOS exists). */
  addBos?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (BOS, EOS, ...) from the text. Default true. */
  skipSpecialTokens?: boolean;
}

interface TokenizerConfigJson {
  bos_token?: string | { content: string } | null;
  eos_token?: string | { content: string } | null;
  add_bos_token?: boolean;
  chat_template?: unknown;
  [key: string]: unknown;
}

export class Tokenizer {
  /** The BOS id, or undefined when the tokenizer has none (e.g. Qwen2). */
  readonly bosId: number | undefined;
  /** Every id that ends a generation, sorted, without duplicates. */
  readonly eosIds: readonly number[];
  /** One more than the largest id (vocabulary plus added tokens). */
  readonly vocabSize: number;
  /** The chat template in tokenizer_config.json, or undefined (then the fallback template is used). */
  readonly chatTemplate: string | undefined;
  private readonly hf: HfTokenizer;
  private readonly config: TokenizerConfigJson;
  private readonly addBosByDefault: boolean;
  private readonly specialIds: ReadonlySet<number>;
  /** Word-by-word encoding (word-cut-encoder.ts), or undefined when that would not give the same ids. */
  private readonly wordCut: WordCutEncoder | undefined;

  constructor(sources: TokenizerSources) {
    // A shallow copy: the defaults filled in below must not leak into the caller's object.
    const json = { ...parseJsonSource(sources.tokenizerJson, 'tokenizer.json') } as Omit<Parameters<typeof wordCutIsExact>[0], 'added_tokens'> & {
      added_tokens?: { id: number; content: string; special?: boolean }[];
    };
    this.config = (parseJsonSource(sources.tokenizerConfig ?? {}, 'tokenizer_config.json') ?? {}) as TokenizerConfigJson;
    // tokenizers.js requires the list to exist; older tokenizer.json files may omit it.
    if (!Array.isArray(json.added_tokens)) json.added_tokens = [];
    this.hf = new HfTokenizer(json, this.config);

    this.bosId = this.tokenIdOf(this.config.bos_token);
    const eos = new Set<number>();
    const configEos = this.tokenIdOf(this.config.eos_token);
    if (configEos !== undefined) eos.add(configEos);
    const extra = sources.extraEosIds;
    for (const id of extra === undefined || extra === null ? [] : typeof extra === 'number' ? [extra] : extra) eos.add(id);
    this.eosIds = [...eos].sort((a, b) => a - b);
    this.addBosByDefault = this.config.add_bos_token ?? this.bosId !== undefined;

    let maxId = -1;
    for (const id of this.hf.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    this.specialIds = new Set(json.added_tokens.filter((t) => t.special).map((t) => t.id));
    this.chatTemplate = pickChatTemplate(this.config.chat_template);
    const fence = wordCutIsExact(json) ? this.encodeWhole('\n') : [];
    this.wordCut =
      fence.length === 2 && fence[1] === this.pieceToId('<0x0A>')
        ? new WordCutEncoder((s) => this.encodeWhole(s), [fence[0], fence[1]], json.added_tokens.map((t) => t.content))
        : undefined;
  }

  /**
   * Text to ids. Special-token strings inside the text (e.g. "</s>") become their ids, as in
   * transformers; EOS is never appended.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids = this.wordCut?.encode(text) ?? this.encodeWhole(text);
    const addBos = options.addBos ?? this.addBosByDefault;
    if (addBos && this.bosId !== undefined) ids.unshift(this.bosId);
    return ids;
  }

  private encodeWhole(text: string): number[] {
    return this.hf.encode(text, { add_special_tokens: false }).ids;
  }

  /** Ids to text. Throws on an id outside the vocabulary (the library would silently print <unk>). */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    if (ids.length === 0) return '';
    const list = Array.from(ids);
    for (const id of list) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new RangeError(`decode: token id ${id} is outside the vocabulary 0..${this.vocabSize - 1}`);
      }
    }
    const skip = options.skipSpecialTokens ?? true;
    // tokenizers.js rejects an empty list, which is what is left when every id is special.
    if (skip && list.every((id) => this.specialIds.has(id))) return '';
    return this.hf.decode(list, { skip_special_tokens: skip, clean_up_tokenization_spaces: false });
  }

  /** The vocabulary string of one id ("▁the", "<0x0A>", "</s>"), or undefined. */
  idToPiece(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  /** The id of one vocabulary string, or undefined. */
  pieceToId(piece: string): number | undefined {
    return this.hf.token_to_id(piece);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  isEos(id: number): boolean {
    return this.eosIds.includes(id);
  }

  /**
   * Renders a conversation with the model's chat template (tokenizer_config.json `chat_template`), or
   * with FALLBACK_CHAT_TEMPLATE when the model has none. The text carries its own BOS (as the template
   * writes it), so encode it with `encodeChat` or `encode(text, { addBos: false })`.
   */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    return renderChatTemplate(this.chatTemplate, messages, {
      bosToken: this.bosId === undefined ? '' : (this.idToPiece(this.bosId) ?? ''),
      eosToken: this.eosIds.length ? (this.idToPiece(this.eosIds[0]) ?? '') : '',
      config: this.config,
      ...options,
    });
  }

  /** applyChatTemplate, then encode without adding a second BOS. */
  encodeChat(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): number[] {
    return this.encode(this.applyChatTemplate(messages, options), { addBos: false });
  }

  private tokenIdOf(token: string | { content: string } | null | undefined): number | undefined {
    if (token === undefined || token === null) return undefined;
    const content = typeof token === 'string' ? token : token.content;
    return this.hf.token_to_id(content);
  }
}

/** Builds a Tokenizer from tokenizer.json (+ tokenizer_config.json) given as strings or objects. */
export function createTokenizer(sources: TokenizerSources): Tokenizer {
  return new Tokenizer(sources);
}

function parseJsonSource(source: string | object | null, what: string): object | null {
  if (typeof source !== 'string') return source;
  try {
    return JSON.parse(source) as object;
  } catch (err) {
    throw new Error(`${what} is not valid JSON (${(err as Error).message}); pass the file's text or the parsed object`);
  }
}

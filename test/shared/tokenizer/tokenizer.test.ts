import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FALLBACK_CHAT_TEMPLATE, type Tokenizer, createTokenizer, loadTokenizer, wordCutIsExact } from '../../../shared/tokenizer/node.ts';
import { describeWithShared, LLAMA2_TOKENIZER_DIR, REPO_ROOT, STORIES260K_DIR } from '../../helpers/shared-data.ts';

// A Llama-2-chat style template (the shape of the one Meta ships), to check real templates render.
const LLAMA2_CHAT_TEMPLATE =
  "{% for message in messages %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}" +
  "{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + ' ' + eos_token }}{% endif %}{% endfor %}";

describeWithShared('Tokenizer (stories260K and LLaMA-2 vocabularies)', () => {
  let stories: Tokenizer;
  let llama2: Tokenizer;
  beforeAll(async () => {
    stories = await loadTokenizer(STORIES260K_DIR!);
    llama2 = await loadTokenizer(LLAMA2_TOKENIZER_DIR!);
  });

  it('reads BOS, EOS and the vocabulary size', () => {
    expect(stories.bosId).toBe(1);
    expect(stories.eosIds).toEqual([2]);
    expect(stories.vocabSize).toBe(512);
    expect(llama2.bosId).toBe(1);
    expect(llama2.eosIds).toEqual([2]);
    expect(llama2.vocabSize).toBe(32000);
    expect(llama2.idToPiece(29871)).toBe('▁');
    expect(llama2.pieceToId('<0x0A>')).toBe(13);
  });

  it('adds BOS by default (add_bos_token) and only when asked', () => {
    expect(llama2.encode('Hello world')).toEqual([1, 15043, 3186]);
    expect(llama2.encode('Hello world', { addBos: false })).toEqual([15043, 3186]);
    expect(llama2.encode('', { addBos: false })).toEqual([]);
  });

  it('decodes without special tokens by default, and with them on request', () => {
    expect(llama2.decode([1, 15043, 3186, 2])).toBe('Hello world');
    expect(llama2.decode([1, 15043, 3186, 2], { skipSpecialTokens: false })).toBe('<s> Hello world</s>');
    expect(llama2.decode([])).toBe('');
    expect(llama2.decode([1, 2])).toBe('');
  });

  it('refuses ids outside the vocabulary instead of printing <unk>', () => {
    expect(() => stories.decode([1, 512])).toThrow(/token id 512 is outside the vocabulary 0\.\.511/);
    expect(() => stories.decode([-1])).toThrow(/outside the vocabulary/);
    expect(() => stories.decode([1.5])).toThrow(/outside the vocabulary/);
  });

  it('turns special-token strings inside the text into their ids, as transformers does', () => {
    expect(llama2.encode('hi</s>', { addBos: false })).toEqual([7251, 2]);
  });

  it('renders the fallback chat template when the model has none (stories260K)', () => {
    expect(stories.chatTemplate).toBeUndefined();
    const text = stories.applyChatTemplate([
      { role: 'system', content: 'Tell stories.' },
      { role: 'user', content: 'A dog?' },
      { role: 'assistant', content: 'Spot ran.' },
      { role: 'user', content: 'More.' },
    ]);
    expect(text).toBe('<s>Tell stories.\n\nUser: A dog?\nAssistant: Spot ran.</s>\nUser: More.\nAssistant:');
    expect(stories.applyChatTemplate([{ role: 'user', content: 'x' }], { addGenerationPrompt: false })).toBe('<s>User: x\n');
    // encodeChat: the template's "<s>" becomes the one BOS id; no second BOS is added.
    const ids = stories.encodeChat([{ role: 'user', content: 'x' }]);
    expect(ids[0]).toBe(1);
    expect(ids.filter((id) => id === 1)).toHaveLength(1);
    expect(stories.decode(ids)).toBe('User: x\nAssistant:');
  });

  it('renders a chat template from tokenizer_config.json, string or named list', () => {
    const json = readFileSync(path.join(LLAMA2_TOKENIZER_DIR!, 'tokenizer.json'), 'utf8');
    const config = JSON.parse(readFileSync(path.join(LLAMA2_TOKENIZER_DIR!, 'tokenizer_config.json'), 'utf8'));
    const messages = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Bye' },
    ];
    const want = '<s>[INST] Hi [/INST] Hello! </s><s>[INST] Bye [/INST]';
    const asString = createTokenizer({ tokenizerJson: json, tokenizerConfig: { ...config, chat_template: LLAMA2_CHAT_TEMPLATE } });
    expect(asString.applyChatTemplate(messages)).toBe(want);
    const asList = createTokenizer({
      tokenizerJson: json,
      tokenizerConfig: { ...config, chat_template: [{ name: 'tool_use', template: 'x' }, { name: 'default', template: LLAMA2_CHAT_TEMPLATE }] },
    });
    expect(asList.applyChatTemplate(messages)).toBe(want);
    expect(asList.encodeChat(messages).filter((id) => id === 1)).toHaveLength(2);
    expect(() => asList.applyChatTemplate([{ role: 'user' } as never])).toThrow(/chat message 0 must be/);
    const refusing = createTokenizer({ tokenizerJson: json, tokenizerConfig: { ...config, chat_template: "{{ raise_exception('roles must alternate') }}" } });
    expect(() => refusing.applyChatTemplate(messages)).toThrow(/the chat template failed on this conversation: .*roles must alternate/);
  });

  it('builds from strings (as the edge router does) and takes extra EOS ids', () => {
    const tok = createTokenizer({
      tokenizerJson: readFileSync(path.join(STORIES260K_DIR!, 'tokenizer.json'), 'utf8'),
      tokenizerConfig: readFileSync(path.join(STORIES260K_DIR!, 'tokenizer_config.json'), 'utf8'),
      extraEosIds: [7, 2],
    });
    expect(tok.eosIds).toEqual([2, 7]);
    expect(tok.isEos(7)).toBe(true);
    expect(tok.encode('Once upon a time')).toEqual(stories.encode('Once upon a time'));
    expect(() => createTokenizer({ tokenizerJson: '{not json' })).toThrow(/tokenizer\.json is not valid JSON/);
  });

  it('says what to do when a folder has no tokenizer.json', async () => {
    await expect(loadTokenizer(path.join(REPO_ROOT, 'test'))).rejects.toThrow(/no tokenizer\.json in .*tokenizer\.model must be converted/);
  });
});

describe('FALLBACK_CHAT_TEMPLATE', () => {
  it('is documented in docs/EVALUATION.md word for word', () => {
    const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'EVALUATION.md'), 'utf8');
    expect(doc).toContain(FALLBACK_CHAT_TEMPLATE);
  });
});

describe('runtime-free core', () => {
  // The edge router runs the tokenizer (and the eval maths) inside workerd: no node: imports there.
  const RUNTIME_FREE = [
    'shared/tokenizer/index.ts', 'shared/tokenizer/tokenizer.ts', 'shared/tokenizer/chat-template.ts',
    'shared/tokenizer/incremental-decoder.ts', 'shared/tokenizer/word-cut-encoder.ts',
    'shared/eval/index.ts', 'shared/eval/logits-model.ts', 'shared/eval/token-nll.ts', 'shared/eval/eval-text.ts',
    'shared/eval/eval-plan.ts', 'shared/eval/prepare-eval.ts', 'shared/eval/perplexity.ts',
  ];
  it.each(RUNTIME_FREE)('%s imports no node: module and no Node-only sibling', (file) => {
    const source = readFileSync(path.join(REPO_ROOT, file), 'utf8');
    const imports = [...source.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]);
    for (const spec of imports) {
      expect(spec).not.toMatch(/^node:|^(fs|path|os|url|util)$/);
      expect(spec).not.toMatch(/load-tokenizer|load-any-model|model-loaders|\/node\.ts$/);
    }
  });
});

describe('wordCutIsExact', () => {
  const llamaLike = {
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: null,
    model: { type: 'BPE', vocab: { '▁the': 0, '▁▁': 1, a: 2 } },
    added_tokens: [{ content: '</s>' }],
  };
  it('accepts the LLaMA layout and refuses anything that could merge across a cut', () => {
    expect(wordCutIsExact(llamaLike)).toBe(true);
    expect(wordCutIsExact({ ...llamaLike, model: { type: 'BPE', vocab: { 'a▁b': 0 } } })).toBe(false);
    expect(wordCutIsExact({ ...llamaLike, model: { type: 'BPE', vocab: { '\n\n': 0 } } })).toBe(false);
    expect(wordCutIsExact({ ...llamaLike, pre_tokenizer: { type: 'ByteLevel' } })).toBe(false);
    expect(wordCutIsExact({ ...llamaLike, model: { type: 'Unigram', vocab: {} } })).toBe(false);
    expect(wordCutIsExact({ ...llamaLike, normalizer: { type: 'NFKC' } })).toBe(false);
    expect(wordCutIsExact({ ...llamaLike, added_tokens: [{ content: '<|im start|>' }] })).toBe(false);
  });
});

/**
 * Fast, exact encoding for SentencePiece-style BPE tokenizers in the LLaMA-1/2 layout.
 *
 * Such a tokenizer has no pre-tokenizer: the whole text is one BPE "word". tokenizers.js is slow on
 * that (80 s for the 1.3 MB WikiText-2 test text; 3-7x slower than this on TinyStories, see
 * docs/EVALUATION.md) and cannot use its word cache. But when
 *  - no vocabulary piece contains "\n" (a newline is the byte-fallback token <0x0A>), and
 *  - '▁' (the normalized space) appears in pieces only as a leading run ("▁the", "▁▁"),
 * no merge can reach across a newline, nor across a space that follows a non-space. So the text can be
 * cut before each of those and the words encoded one by one, giving the same ids. A word other than
 * the first must not get the dummy-prefix '▁' the normalizer puts at the start of a text: we encode
 * "\n" + word, whose newline fences the prefix off as a lone '▁' and <0x0A>, and drop those two tokens.
 *
 * Added tokens ("<s>", "</s>") are split out before normalization by the library, which changes how
 * the text around them is normalized, so texts containing one take the plain path.
 * The tests check this path against the plain one and against the llama2.c oracle.
 */

/** Words longer than this are not cached (the library caches words under 256 characters, too). */
const MAX_CACHED_WORD_CHARS = 64;
const MAX_CACHED_WORDS = 50_000;

interface NormalizerStep {
  type?: string;
  prepend?: string;
  pattern?: { String?: string };
  content?: string;
}

interface TokenizerJsonShape {
  normalizer?: (NormalizerStep & { normalizers?: NormalizerStep[] }) | null;
  pre_tokenizer?: unknown;
  model?: { type?: string; vocab?: Record<string, number> | [string, number][] };
  added_tokens?: { content: string }[];
}

/** True when cutting before newlines and spaces cannot change the ids (see the file comment). */
export function wordCutIsExact(json: TokenizerJsonShape): boolean {
  if (json.pre_tokenizer !== null && json.pre_tokenizer !== undefined) return false;
  if (json.model?.type !== 'BPE') return false;
  const norm = json.normalizer;
  const steps = norm?.type === 'Sequence' ? (norm.normalizers ?? []) : norm ? [norm] : [];
  // Only the LLaMA normalizer is known to be safe: Prepend('▁') followed by Replace(' ' -> '▁').
  const [prepend, replace] = steps;
  if (steps.length !== 2 || prepend.type !== 'Prepend' || prepend.prepend !== '▁') return false;
  if (replace.type !== 'Replace' || replace.pattern?.String !== ' ' || replace.content !== '▁') return false;
  const vocab = json.model.vocab ?? {};
  const pieces = Array.isArray(vocab) ? vocab.map(([p]) => p) : Object.keys(vocab);
  if (pieces.some((p) => p.includes('\n') || p.replace(/^▁+/, '').includes('▁'))) return false;
  return !(json.added_tokens ?? []).some((t) => /[\n ▁]/.test(t.content));
}

/**
 * Encodes a long text word by word, as described above. `encodeText` encodes one text without BOS.
 * Returns undefined when the shortcut does not apply to this text (the caller then encodes it whole).
 */
export class WordCutEncoder {
  private readonly cache = new Map<string, number[]>();

  constructor(
    private readonly encodeText: (s: string) => number[],
    /** ids of "\n" alone: the lone '▁' prefix and <0x0A> */
    private readonly fence: readonly [number, number],
    private readonly addedTokenContents: readonly string[],
  ) {}

  encode(text: string): number[] | undefined {
    if (this.addedTokenContents.some((t) => text.includes(t))) return undefined;
    // Cut before every "\n", and before every space that follows a character other than a space.
    const words = text.split(/(?=\n)|(?<=[^ ])(?= )/);
    const ids = this.encodeText(words[0]);
    for (let i = 1; i < words.length; i++) {
      const part = this.continuation(words[i]);
      for (let k = 0; k < part.length; k++) ids.push(part[k]);
    }
    return ids;
  }

  private continuation(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const fenced = this.encodeText('\n' + word);
    if (fenced[0] !== this.fence[0] || fenced[1] !== this.fence[1]) {
      throw new Error(`WordCutEncoder: "\\n" + ${JSON.stringify(word)} did not start with the fence ids ${this.fence.join(', ')}; the tokenizer is not SentencePiece-like`);
    }
    const ids = fenced.slice(2);
    if (word.length <= MAX_CACHED_WORD_CHARS) {
      if (this.cache.size >= MAX_CACHED_WORDS) this.cache.clear();
      this.cache.set(word, ids);
    }
    return ids;
  }
}

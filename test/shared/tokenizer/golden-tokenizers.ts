/** The two real tokenizers the golden tests cover, as paths under ../shared (see test/helpers/shared-data.ts). */
export const GOLDEN_TOKENIZERS = [
  { name: 'stories260K', hfDir: ['models', 'stories260K'], llama2cBin: ['models', 'llama2c', 'tok512.bin'], tinyStoriesTokens: 390_336 },
  { name: 'llama2', hfDir: ['models', 'llama2-tokenizer'], llama2cBin: ['models', 'llama2c', 'tokenizer.bin'], tinyStoriesTokens: 211_352 },
] as const;

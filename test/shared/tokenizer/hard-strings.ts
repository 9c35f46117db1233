/**
 * Strings that stress a SentencePiece tokenizer: byte fallback (emoji, CJK, symbols outside a small
 * vocabulary), the dummy-prefix and space rules, newlines, digits, the empty string, and the dataset's
 * own mojibake. Shared by the golden-id tests and the incremental-decoder tests.
 */
export const HARD_STRINGS: readonly string[] = [
  '',
  'Hello world',
  'Once upon a time, there was a little girl named Lily.',
  ' leading space',
  '  two leading spaces',
  'trailing space ',
  'multiple   inner    spaces',
  ' ',
  'line one\nline two',
  '\n\nstarts with newlines',
  'blank line\n\nparagraph',
  'windows\r\nline end',
  'tabs\tand\ttabs',
  'digits 0123456789, 3.14159 and 1,000,000',
  '2024-01-01 12:34:56',
  'emoji 😀👍🏽 family 👨‍👩‍👧',
  'CJK 中文字符 日本語 한국어',
  'combining: e\u0301 n\u0303 A\u030a',
  'He shouted to the swan, â€œCan you help me?â€\u009d',
  'Lily\u2019s dog \u201cSpot\u201d',
  'math Ω≈ç√ ∑ ∞ ≠ π',
  'ünïcödé àccents',
  '\u00a0non-breaking\u00a0space',
  'a\u200bzero\u200bwidth',
];

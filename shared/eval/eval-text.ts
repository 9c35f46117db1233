/**
 * Turning evaluation files into documents, exactly as the reference measurements did
 * (see docs/EVALUATION.md).
 */

/** Separator of the TinyStories text files (one story, then "\n<|endoftext|>\n"). */
export const STORY_SEPARATOR = '<|endoftext|>';

/** Splits on <|endoftext|>, strips surrounding whitespace and drops empty pieces. */
export function splitStories(text: string): string[] {
  return text
    .split(STORY_SEPARATOR)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * llama2.c's models were trained on single "\n" paragraph breaks, the Hugging Face TinyStories split
 * has blank lines. This turns every whitespace run that contains a newline (a blank-line break, or a
 * newline with spaces around it) into one "\n"; it reproduces the reference token counts
 * (6,580 / 73,685 / 386,062 for the first 20 / 200 / 1000 stories with stories260K's tokenizer).
 */
export function collapseNewlines(text: string): string {
  return text.replace(/\s*\n\s*/g, '\n');
}

/**
 * The evaluation text of GPTQ and the papers that follow it, from the original wiki.test.raw layout:
 * the Hugging Face `wikitext-2-raw-v1` test rows are the file's lines (each with its "\n"; a blank
 * line " \n" is the empty row ""), and the text is "\n\n".join(rows). For the real file this gives
 * 1,296,370 bytes (sha256 696cca6b...dae83).
 */
export function wikitextGptqText(rawFile: string): string {
  const rows = rawFile.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  return rows.map((row) => (row.trim() === '' ? '' : row)).join('\n\n');
}

/**
 * Calibration and evaluation text. A text file is split into documents (TinyStories' `<|endoftext|>`
 * separators when present, else blank-line-separated paragraphs, as WikiText), each document is
 * tokenized with BOS, and the token stream is cut into samples:
 *   - calibration: `nsamples` random windows of `seqlen` tokens (seeded, as GPTQ/OmniQuant sample
 *     C4/WikiText), from the documents after the first `skip`;
 *   - evaluation (see perplexity.ts): consecutive windows over the first `take` documents.
 */
import { readFile } from 'node:fs/promises';
import { QuantError } from './errors.ts';
import { Rng } from '../util/rng.ts';

export const STORY_SEPARATOR = '<|endoftext|>';

export interface TextTokenizer { encode(text: string, options?: { addBos?: boolean }): number[] }

export function splitDocuments(text: string): string[] {
  const parts = text.includes(STORY_SEPARATOR) ? text.split(STORY_SEPARATOR) : text.split(/\n\s*\n(?=\s*=)/);
  return parts.map((s) => s.trim()).filter((s) => s.length > 0);
}

export async function readDocuments(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new QuantError(`cannot read text file ${file}: ${(e as Error).message}`);
  }
  const docs = splitDocuments(text);
  if (docs.length === 0) throw new QuantError(`${file} holds no text`);
  return docs;
}

/** Tokens of documents [from, to), each with BOS, concatenated. */
export function tokenStream(docs: string[], tok: TextTokenizer, from = 0, to = docs.length): Int32Array {
  const ids: number[] = [];
  for (let i = from; i < Math.min(to, docs.length); i++) for (const id of tok.encode(docs[i], { addBos: true })) ids.push(id);
  return Int32Array.from(ids);
}

export interface CalibrationOptions { nsamples: number; seqlen: number; seed: number; skip: number }

/** `nsamples` windows of `seqlen` tokens at seeded random offsets of the stream after `skip` documents. */
export function calibrationSamples(docs: string[], tok: TextTokenizer, o: CalibrationOptions): Int32Array[] {
  if (o.skip >= docs.length) throw new QuantError(`--calib-skip ${o.skip} leaves no calibration text (the file has ${docs.length} documents)`);
  const stream = tokenStream(docs, tok, o.skip);
  if (stream.length < o.seqlen + 1) throw new QuantError(`calibration text has ${stream.length} tokens, fewer than --seqlen ${o.seqlen}`);
  const rng = new Rng(o.seed);
  return Array.from({ length: o.nsamples }, () => {
    const start = rng.int(0, stream.length - o.seqlen);
    return stream.slice(start, start + o.seqlen);
  });
}

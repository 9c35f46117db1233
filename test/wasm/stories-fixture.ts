/** stories260K (real weights) as a float tensor source, and text tokens for perplexity; Node test helper. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseSafetensors } from '../../shared/format/safetensors-read.ts';
import { loadTokenizer } from '../../shared/tokenizer/node.ts';
import { STORIES260K_DIR, TINYSTORIES_TXT } from '../helpers/shared-data.ts';

export function storiesFloats(): { config: Record<string, unknown>; float: (name: string) => Float32Array | undefined } {
  const dir = STORIES260K_DIR!;
  const st = parseSafetensors(new Uint8Array(readFileSync(path.join(dir, 'model.safetensors'))));
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  return { config, float: (name) => (st.has(name) ? st.f32(name) : undefined) };
}

/** The first `stories` stories of the TinyStories validation text, each as [BOS] + tokens, concatenated and cut to `max`. */
export async function storyTokens(stories: number, max: number): Promise<number[]> {
  const tok = await loadTokenizer(STORIES260K_DIR!);
  const text = readFileSync(TINYSTORIES_TXT!, 'utf8');
  const parts = text.split('<|endoftext|>').filter((s) => s.trim().length > 0).slice(0, stories);
  const ids: number[] = [];
  for (const s of parts) ids.push(...tok.encode(s.trim(), { addBos: true }));
  return ids.slice(0, max);
}

/** Mean negative log-likelihood of tokens[1..] given logits [n][vocab] for positions 0..n-2. */
export function meanNll(logits: Float32Array, tokens: number[], vocab: number): number {
  let total = 0;
  for (let t = 0; t + 1 < tokens.length; t++) {
    const row = logits.subarray(t * vocab, (t + 1) * vocab);
    let mx = -Infinity;
    for (const v of row) if (v > mx) mx = v;
    let sum = 0;
    for (const v of row) sum += Math.exp(v - mx);
    total += -(row[tokens[t + 1]] - mx - Math.log(sum));
  }
  return total / (tokens.length - 1);
}

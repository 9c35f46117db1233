/**
 * Reads measured figures for the model card from a JSON file (Node only). Accepted shapes, so the
 * output of `abq-pack eval --json` and hand-written files both work:
 *   { "perplexity": 9.12, "dataset": "wikitext-2 (test)", "baseline": 8.95, "contextLength": 512 }
 *   { "metric": "perplexity", "dataset": "...", "value": 9.12, "baseline": 8.95 }
 *   [ ...either of the above ], or { "results": [ ... ] }
 *   the output of `abq-pack eval --json` ({ "ppl", "data": file, "protocol", "seqlen", "tokens", ... })
 * "ppl" is read as perplexity; "baselinePerplexity" / "basePerplexity" / "reference" (a number, or an object
 * with "ppl" / "perplexity") as baseline; "ctx" / "seqlen" / "seqLen" as contextLength.
 */
import { readFile } from 'node:fs/promises';
import { HubError } from './errors.ts';
import type { EvalResult } from './model-card.ts';

/** Written next to the weights by convention, and picked up by push when --eval is not given. */
export const EVAL_RESULTS_FILE = 'eval_results.json';

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function pplOf(v: unknown): number | undefined {
  if (v !== null && typeof v === 'object') return num((v as { ppl?: unknown }).ppl) ?? num((v as { perplexity?: unknown }).perplexity);
  return num(v);
}

/** "dataset" as given, else the eval file's name and protocol (`abq-pack eval --json` writes data + protocol). */
function datasetName(raw: Record<string, unknown>): string {
  if (typeof raw.dataset === 'string' && raw.dataset) return raw.dataset;
  if (typeof raw.data === 'string' && raw.data) {
    const base = raw.data.split(/[\\/]/).pop() ?? raw.data;
    return typeof raw.protocol === 'string' ? `${base} (${raw.protocol})` : base;
  }
  return 'unspecified dataset';
}

function one(raw: Record<string, unknown>, file: string): EvalResult {
  const value = num(raw.perplexity) ?? num(raw.ppl) ?? (raw.metric === 'perplexity' ? num(raw.value) : undefined);
  if (value === undefined) {
    throw new HubError('invalid-input', `${file}: each result needs a numeric "perplexity" or "ppl" (or "metric": "perplexity" with "value"), got ${JSON.stringify(raw).slice(0, 120)}`);
  }
  return {
    metric: 'perplexity',
    dataset: datasetName(raw),
    value,
    baseline: pplOf(raw.baseline) ?? pplOf(raw.baselinePerplexity) ?? pplOf(raw.basePerplexity) ?? pplOf(raw.reference),
    contextLength: num(raw.contextLength) ?? num(raw.ctx) ?? num(raw.seqlen) ?? num(raw.seqLen),
    tokens: num(raw.tokens),
  };
}

export async function readEvalResults(file: string): Promise<EvalResult[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new HubError('invalid-input', `cannot read evaluation results from ${file}: ${(err as Error).message}`);
  }
  const list = Array.isArray(json) ? json : Array.isArray((json as { results?: unknown }).results) ? (json as { results: unknown[] }).results : [json];
  return list.map((r) => {
    if (r === null || typeof r !== 'object') throw new HubError('invalid-input', `${file}: expected objects with a "perplexity", got ${JSON.stringify(r)}`);
    return one(r as Record<string, unknown>, file);
  });
}

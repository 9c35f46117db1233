/**
 * Reads the perplexities that `abq-pack quantize --eval` records in the README.md it writes
 * (shared/quant/model-card.ts), so a push without eval_results.json still puts them in the card's
 * front matter and evaluation table. The report's table is
 *   | text | full precision | this model | path |
 * with one row per evaluated text; a report in another shape simply yields no results.
 */
import type { EvalResult } from './model-card.ts';

const SECTION = /^##+ Measured perplexity\s*$/m;
const ROW = /^\|\s*(.+?)\s*\|\s*([0-9.]+|-)\s*\|\s*([0-9.]+)\s*\|/;

export function parseQuantReport(markdown: string): EvalResult[] {
  const at = markdown.search(SECTION);
  if (at < 0) return [];
  const lines = markdown.slice(at).split(/\r?\n/).slice(1);
  const out: EvalResult[] = [];
  let inTable = false;
  for (const line of lines) {
    if (!line.startsWith('|')) {
      if (inTable) break;
      continue;
    }
    inTable = true;
    const m = ROW.exec(line);
    if (!m) continue; // the header and the |---| rule
    const value = Number(m[3]);
    const baseline = m[2] === '-' ? undefined : Number(m[2]);
    if (!Number.isFinite(value)) continue;
    // The label already names the window length ("(stream, 512)"), so contextLength stays unset.
    out.push({ metric: 'perplexity', dataset: m[1], value, baseline });
  }
  return out;
}

/** The README.md model card of a packed folder: what was done, with which settings, and what it measured. */
import type { PackedLayerSpec } from '../format/layer-spec.ts';
import { settingsLabel } from './quant-config.ts';
import type { QuantizedModel } from './pipeline.ts';

export interface CardFigures {
  /** Perplexities measured on the packed model, e.g. { 'TinyStories first 500 (stream, 512)': {fp: 3.1, quant: 3.3} }. */
  perplexity?: Record<string, { fp?: number; quant: number; path?: string }>;
  calibration?: string;
}

export function modelCard(qm: QuantizedModel, layers: PackedLayerSpec[], f: CardFigures): string {
  const name = qm.source.dir.split(/[\\/]/).filter(Boolean).pop();
  const counts = new Map<string, number>();
  for (const l of layers) {
    const key = `W${l.levels === 5 && l.wbits === 3 ? '2*' : l.wbits}A${l.abits} group ${l.groupSize === l.inFeatures ? 'per-channel' : l.groupSize}${l.symmetric ? ' sym' : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const lines = [
    '---', 'tags: [abq, quantized, arbitrary-bit]', '---', '',
    `# ${name} (${settingsLabel(qm.settings)}, ${qm.method.name})`, '',
    `Packed with \`abq-pack quantize\` (format abq v1: bit-plane weights, F16 scales, dynamic per-token activation quantization).`, '',
    '## Configuration', '',
    `- method: **${qm.method.name}**: ${qm.method.summary} (${qm.method.paper})`,
    `- quantization time: ${qm.seconds.toFixed(1)} s`,
    ...(f.calibration ? [`- calibration: ${f.calibration}`] : []),
    ...[...counts].map(([k, v]) => `- ${v} layers: ${k}`),
    ...(qm.flexq ? [`- FlexQ A8 layers: ${qm.flexq.chosen.join(', ') || '(none)'}`] : []),
    ...(qm.blocks.some((b) => b.fellBack) ? ['- blocks that fell back to their last good parameters: ' + qm.blocks.filter((b) => b.fellBack).map((b) => b.layer).join(', ')] : []),
    '',
  ];
  if (f.perplexity && Object.keys(f.perplexity).length) {
    lines.push('## Measured perplexity', '', '| text | full precision | this model | path |', '|---|---:|---:|---|');
    for (const [text, r] of Object.entries(f.perplexity)) lines.push(`| ${text} | ${r.fp?.toFixed(4) ?? '-'} | ${r.quant.toFixed(4)} | ${r.path ?? 'integer'} |`);
    lines.push('');
  } else {
    lines.push('Perplexity was not measured for this export (run `abq-pack quantize` with `--eval <text>`).', '');
  }
  return lines.join('\n');
}

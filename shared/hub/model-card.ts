/**
 * Writes the README.md (model card) of a published packed model: YAML front matter the Hub indexes
 * (base_model + base_model_relation: quantized, license, library_name, tags with the WxAy config,
 * model-index with the measured perplexity), then a body with the configuration, the figures, the
 * size and how to serve it. Runtime-free: it takes a ModelSummary (read-model-summary.ts) as input.
 *
 * @example
 * const card = buildModelCard({ repo: 'alice/stories260K-w4a8', summary, evals: [{ metric: 'perplexity', dataset: 'tinystories', value: 9.1, baseline: 8.9 }], license: 'mit' });
 */
import type { ModelSummary } from './read-model-summary.ts';
import { toYaml, type YamlValue } from './yaml.ts';

export const LIBRARY_NAME = 'abq-serve';
const ACT_BITS_NONE = 16;

export interface EvalResult {
  metric: 'perplexity';
  /** e.g. "wikitext-2-raw-v1 (test)" or "tinystories (validation)". */
  dataset: string;
  value: number;
  /** The same measure for the unquantized source model, for the delta. */
  baseline?: number;
  contextLength?: number;
  tokens?: number;
}

export interface ModelCardInput {
  /** Where it is published, user/repo. */
  repo: string;
  summary: ModelSummary;
  evals?: EvalResult[];
  /** SPDX-like id inherited from the source model (the Hub's license list), e.g. "mit", "llama2". */
  license?: string;
  /** More tags, e.g. those of the quantizer's own card. */
  extraTags?: string[];
  /** Markdown appended as a last section, e.g. the report `abq-pack quantize` wrote into the folder. */
  appendix?: { title: string; markdown: string };
}

function range(values: number[]): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? String(lo) : `${lo}-${hi}`;
}

/** "W4A8", "W4A16" (weight-only), "W2-4A8" (mixed). Empty when no layer is quantized. */
export function quantLabel(summary: ModelSummary): string {
  if (summary.layers.length === 0) return '';
  return `W${range(summary.layers.map((l) => l.wbits))}A${range(summary.layers.map((l) => l.abits))}`;
}

const unique = <T>(xs: T[]): T[] => [...new Set(xs)];

function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

/** A Hub repo id, as base_model must be (a local source path cannot be linked). */
const isRepoId = (s: string | undefined): s is string => !!s && /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/.test(s) && !s.startsWith('.');

/** model-index wants a dataset id: "TinyStories-validation.txt, first 5 (stream)" -> "tinystories-validation". */
function datasetSlug(name: string): string {
  return name.split(/[\s,(]/)[0].replace(/\.(txt|raw|jsonl?|parquet)$/i, '').toLowerCase().replace(/[^a-z0-9._-]/g, '') || 'text';
}

function frontMatter(input: ModelCardInput, label: string): Record<string, YamlValue | undefined> {
  const { summary, evals = [] } = input;
  const base = isRepoId(summary.source?.model) ? summary.source?.model : undefined;
  const tags = unique(['quantized', 'abq', ...(label ? [label.toLowerCase()] : []), ...summary.layers.map((l) => l.method), ...(summary.modelType ? [summary.modelType] : []), 'safetensors', ...(input.extraTags ?? [])]);
  return {
    base_model: base,
    base_model_relation: base ? 'quantized' : undefined,
    license: input.license,
    library_name: LIBRARY_NAME,
    pipeline_tag: 'text-generation',
    tags,
    'model-index': evals.length
      ? [{
          name: input.repo.split('/')[1],
          results: evals.map((e) => ({
            task: { type: 'text-generation' },
            dataset: { name: e.dataset, type: datasetSlug(e.dataset) },
            metrics: [{ type: e.metric, value: e.value, name: `${e.metric} (${label || 'packed'})` }],
          })),
        }]
      : undefined,
  };
}

function configTable(summary: ModelSummary): string[] {
  const l = summary.layers;
  const groups = unique(l.map((x) => (x.groupSize === x.inFeatures ? 'per channel' : String(x.groupSize))));
  const act = unique(l.map((x) => (x.abits === ACT_BITS_NONE ? 'none (weight-only, float activations)' : `${x.abits}-bit, dynamic per token${x.actGroupSize && x.actGroupSize !== x.inFeatures ? `, groups of ${x.actGroupSize}` : ''}`)));
  const levels = unique(l.filter((x) => x.levels < 2 ** x.wbits).map((x) => `${x.levels} levels in ${x.wbits} bits`));
  return [
    '| setting | value |',
    '|---|---|',
    `| weight bits | ${range(l.map((x) => x.wbits))} |`,
    ...(levels.length ? [`| reduced grids | ${levels.join(', ')} |`] : []),
    `| weight group size | ${groups.join(', ')} |`,
    `| weight grid | ${unique(l.map((x) => (x.symmetric ? 'symmetric' : 'asymmetric'))).join(', ')} |`,
    `| activations | ${act.join('; ')} |`,
    `| method | ${unique(l.map((x) => x.method)).join(', ')} |`,
    `| quantized linear layers | ${l.length} |`,
    `| format | ${summary.format ?? 'unknown'} ${summary.formatVersion ?? ''} |`,
  ];
}

export function buildModelCard(input: ModelCardInput): string {
  const { repo, summary, evals = [] } = input;
  const label = quantLabel(summary);
  const src = summary.source?.model;
  const out: string[] = ['---', toYaml(frontMatter(input, label)).trimEnd(), '---', ''];
  out.push(`# ${repo.split('/')[1]}`, '');
  out.push(`${src ? `\`${src}\`${summary.source?.revision ? ` (revision \`${summary.source.revision}\`)` : ''}` : 'A model'} quantized to **${label || 'packed form'}** with \`abq-pack\` ` +
    `(arbitrary-bit weights and activations, stored as bit planes in safetensors). It runs on abq-serve GPU nodes and on its WASM engine at the edge.`, '');
  if (summary.layers.length) out.push('## Configuration', '', ...configTable(summary), '');
  out.push('## Evaluation', '');
  if (evals.length === 0) {
    out.push('No evaluation was recorded when this model was published. Measure it with `npx abq-pack eval <dir>`.', '');
  } else {
    out.push('| dataset | metric | this model | source model | change |', '|---|---|---:|---:|---:|');
    for (const e of evals) {
      const delta = e.baseline ? `${(((e.value - e.baseline) / e.baseline) * 100).toFixed(2)}%` : '';
      out.push(`| ${e.dataset}${e.contextLength ? ` (ctx ${e.contextLength})` : ''} | ${e.metric} | ${e.value.toFixed(4)} | ${e.baseline?.toFixed(4) ?? ''} | ${delta} |`);
    }
    out.push('', 'Lower perplexity is better. Measured on the packed model itself (`abq-pack quantize --eval` or `abq-pack eval`).', '');
  }
  const weights = summary.files.filter((f) => f.path.endsWith('.safetensors')).reduce((n, f) => n + f.size, 0);
  const total = summary.files.reduce((n, f) => n + f.size, 0);
  out.push('## Size', '', `| | |`, '|---|---:|', `| weights (safetensors) | ${formatBytes(weights)} |`, `| all files | ${formatBytes(total)} |`);
  if (summary.parameterCount) out.push(`| parameters | ${summary.parameterCount.toLocaleString('en-US')} |`, `| bits per parameter (weights file, float tensors included) | ${((weights * 8) / summary.parameterCount).toFixed(2)} |`);
  out.push('');
  const name = repo.split('/')[1];
  out.push('## Usage', '', 'Download it into the local cache (resumable, checksums verified); `pull` prints the folder:', '',
    '```sh', `DIR=$(npx abq-pack pull ${repo})`, '```', '');
  out.push('Serve it from a checkout of abq-serve:', '', '```sh', '# a GPU node (CUDA backend)',
    'ABQ_NODE_SECRET=... npx tsx gpu-node/server/main.ts --backend cuda --model "$DIR"', '',
    '# the edge on Node; it answers from its WASM engine when no GPU node can serve', `ABQ_MODEL_DIRS=${name}="$DIR" npm start`, '```', '');
  out.push('Private repos need `HF_TOKEN`; mirrors and private hubs are set with `HF_ENDPOINT`. See docs/PUBLISHING.md in the abq-serve repository.', '');
  if (input.appendix && input.appendix.markdown.trim()) {
    // Demote the appendix's headings below ours, and drop its title line (the section title replaces it).
    const body = input.appendix.markdown.trim().replace(/^# .*\n+/, '').replace(/^(#{1,5}) /gm, '#$1 ');
    out.push(`## ${input.appendix.title}`, '', body, '');
  }
  return out.join('\n');
}

/**
 * The little YAML a model card's front matter needs: nested maps, lists and scalars. Strings that are
 * not plainly safe are written as JSON strings, which YAML reads as double-quoted scalars, so no value
 * can break the document (a license like "other: see below" or a name with '#').
 * Hand-written because a YAML library (js-yaml, ~40 KB) would be this project's only use for one.
 */

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue | undefined };

const PLAIN = /^[A-Za-z0-9][A-Za-z0-9._/+-]*$/;
/** Words YAML 1.1 readers turn into booleans or null. */
const RESERVED = /^(true|false|yes|no|on|off|null|y|n|~)$/i;

function scalar(v: string | number | boolean | null): string {
  if (v === null) return 'null';
  if (typeof v !== 'string') return String(v);
  return PLAIN.test(v) && !RESERVED.test(v) && !/^[0-9.+-]+$/.test(v) ? v : JSON.stringify(v);
}

function emit(value: YamlValue, indent: string, lines: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item !== null && typeof item === 'object') {
        const sub: string[] = [];
        emit(item, indent + '  ', sub);
        lines.push(`${indent}- ${sub[0].trimStart()}`, ...sub.slice(1));
      } else {
        lines.push(`${indent}- ${scalar(item)}`);
      }
    }
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (v === undefined) continue;
      const k = scalar(key);
      if (v !== null && typeof v === 'object' && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0)) {
        lines.push(`${indent}${k}:`);
        emit(v, indent + '  ', lines);
      } else if (v !== null && typeof v === 'object') {
        lines.push(`${indent}${k}: ${Array.isArray(v) ? '[]' : '{}'}`);
      } else {
        lines.push(`${indent}${k}: ${scalar(v)}`);
      }
    }
    return;
  }
  lines.push(indent + scalar(value));
}

export function toYaml(value: YamlValue): string {
  const lines: string[] = [];
  emit(value, '', lines);
  return lines.join('\n') + '\n';
}

/** One top-level scalar of a card's front matter (e.g. "license"), or undefined. */
export function frontMatterField(markdown: string, key: string): string | undefined {
  const m = /^---\r?\n([\s\S]*?)\r?\n---/.exec(markdown);
  if (!m) return undefined;
  const line = m[1].split(/\r?\n/).find((l) => l.startsWith(`${key}:`));
  const raw = line?.slice(key.length + 1).trim();
  if (!raw) return undefined;
  return raw.replace(/^["']|["']$/g, '');
}

/** A top-level list of the front matter, inline (`tags: [a, b]`) or as a block (`- a`); [] when absent. */
export function frontMatterList(markdown: string, key: string): string[] {
  const m = /^---\r?\n([\s\S]*?)\r?\n---/.exec(markdown);
  if (!m) return [];
  const lines = m[1].split(/\r?\n/);
  const at = lines.findIndex((l) => l.startsWith(`${key}:`));
  if (at < 0) return [];
  const unquote = (v: string) => v.trim().replace(/^["']|["']$/g, '');
  const inline = lines[at].slice(key.length + 1).trim();
  if (inline.startsWith('[')) return inline.replace(/^\[|\]$/g, '').split(',').map(unquote).filter(Boolean);
  if (inline) return [unquote(inline)];
  const out: string[] = [];
  for (const line of lines.slice(at + 1)) {
    const item = /^\s*-\s+(.*)$/.exec(line);
    if (!item) break;
    out.push(unquote(item[1]));
  }
  return out;
}

/** The markdown after the front matter. */
export function withoutFrontMatter(markdown: string): string {
  return markdown.replace(/^---\r?\n[\s\S]*?\r?\n---\r?\n?/, '');
}

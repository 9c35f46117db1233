/**
 * Seeded mutations of safetensors bytes for the fuzz test: byte-level damage (truncation, bit flips,
 * inserted/deleted bytes, length-field edits) and structure-aware edits of the JSON header (offsets,
 * shapes, dtypes, duplicated keys, abq.layers fields), re-serialized with a consistent length field so
 * that they reach the deeper rules instead of failing at the first one.
 */
import type { Rng } from '../../../shared/util/rng.ts';

export type Mutator = (bytes: Uint8Array, rng: Rng) => Uint8Array;

const JSON_CHARS = '{}[]":,0123456789-.eE \\u';
const POOL: unknown[] = [0, 1, -1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 32, 33, 64, 255, 256, 2 ** 31, 2 ** 32, 2 ** 53, 1e300, 1.5, -0, '', 'x', 'F32', 'U8', null, true, false, [], {}, [1, 2]];
const DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'U64', 'I32', 'U32', 'I16', 'U16', 'I8', 'U8', 'BOOL', 'F8_E4M3', 'Q4', ''];

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)];

function headerOf(bytes: Uint8Array): { text: string; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { text: new TextDecoder().decode(bytes.subarray(8, 8 + n)), data: bytes.subarray(8 + n) };
}

function withHeader(text: string, data: Uint8Array, rng: Rng): Uint8Array {
  if (rng.next() < 0.7) while ((text.length + 8) % 8 !== 0) text += ' ';
  const head = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

/** Applies `edit` to the parsed header object and re-serializes it. */
function editJson(bytes: Uint8Array, rng: Rng, edit: (h: Record<string, any>) => void): Uint8Array {
  const { text, data } = headerOf(bytes);
  const h = JSON.parse(text);
  edit(h);
  return withHeader(JSON.stringify(h), data, rng);
}

const tensorNames = (h: Record<string, unknown>) => Object.keys(h).filter((k) => k !== '__metadata__');

export const MUTATORS: Record<string, Mutator> = {
  truncate: (b, rng) => b.slice(0, rng.int(0, b.length - 1)),
  bitFlips: (b, rng) => {
    const out = b.slice();
    for (let i = rng.int(1, 8); i > 0; i--) out[rng.int(0, out.length - 1)] ^= 1 << rng.int(0, 7);
    return out;
  },
  headerByte: (b, rng) => {
    if (b.length <= 8) return b;
    const out = b.slice();
    const n = Math.min(b.length - 8, new DataView(b.buffer, b.byteOffset).getUint32(0, true));
    out[8 + rng.int(0, Math.max(0, n - 1))] = pick(rng, JSON_CHARS.split('')).charCodeAt(0);
    return out;
  },
  lengthField: (b, rng) => {
    if (b.length < 8) return b;
    const out = b.slice();
    const v = new DataView(out.buffer);
    const n = v.getUint32(0, true);
    const choice = rng.int(0, 3);
    if (choice === 0) v.setUint32(0, n + rng.int(-16, 16), true);
    else if (choice === 1) v.setUint32(0, rng.nextU32(), true);
    else if (choice === 2) v.setUint32(4, rng.int(1, 0xffffffff), true);
    else out[rng.int(0, 7)] = rng.int(0, 255);
    return out;
  },
  insertOrDelete: (b, rng) => {
    const at = rng.int(0, b.length);
    if (rng.next() < 0.5) return new Uint8Array([...b.subarray(0, at), ...Array.from({ length: rng.int(1, 9) }, () => rng.int(0, 255)), ...b.subarray(at)]);
    return new Uint8Array([...b.subarray(0, at), ...b.subarray(Math.min(b.length, at + rng.int(1, 9)))]);
  },
  offsets: (b, rng) => editJson(b, rng, (h) => {
    const t = h[pick(rng, tensorNames(h))];
    if (t) t.data_offsets[rng.int(0, 1)] += pick(rng, [-8, -4, -1, 1, 2, 4, 8, 1e9]);
  }),
  shape: (b, rng) => editJson(b, rng, (h) => {
    const t = h[pick(rng, tensorNames(h))];
    if (!t) return;
    const r = rng.next();
    if (r < 0.3 && t.shape.length > 0) t.shape[rng.int(0, t.shape.length - 1)] = pick(rng, POOL);
    else if (r < 0.6) t.shape.push(pick(rng, [1, 2, 0]));
    else t.shape = t.shape.length > 1 ? [t.shape.reduce((a: number, c: number) => a * c, 1)] : [...t.shape, 1].reverse();
  }),
  dtype: (b, rng) => editJson(b, rng, (h) => {
    const t = h[pick(rng, tensorNames(h))];
    if (t) t.dtype = pick(rng, DTYPES);
  }),
  dropKey: (b, rng) => editJson(b, rng, (h) => {
    const name = pick(rng, Object.keys(h));
    if (name && rng.next() < 0.5) delete h[name];
    else if (h[name] && typeof h[name] === 'object') delete h[name][pick(rng, Object.keys(h[name]))];
  }),
  duplicateKey: (b, rng) => {
    const { text, data } = headerOf(b);
    const entries = [...text.matchAll(/"(?:[^"\\]|\\.)*":(?:\{[^{}]*\}|"(?:[^"\\]|\\.)*")/g)];
    if (entries.length === 0) return b;
    const e = pick(rng, entries);
    const at = e.index! + e[0].length;
    return withHeader(`${text.slice(0, at)},${e[0]}${text.slice(at)}`, data, rng);
  },
  metadataJson: (b, rng) => editJson(b, rng, (h) => {
    const meta = h.__metadata__;
    if (!meta) return;
    const key = pick(rng, Object.keys(meta));
    let value: any;
    try { value = JSON.parse(meta[key]); } catch { meta[key] = pick(rng, ['', '2', 'abq', '{}', '[]']); return; }
    if (Array.isArray(value) && value.length > 0) {
      const spec = pick(rng, value);
      if (spec && typeof spec === 'object') spec[pick(rng, Object.keys(spec))] = pick(rng, POOL);
    } else if (value && typeof value === 'object') {
      const k = pick(rng, Object.keys(value));
      if (k !== undefined) value[k] = rng.next() < 0.5 ? pick(rng, POOL) : undefined;
    } else {
      value = pick(rng, POOL);
    }
    meta[key] = typeof value === 'string' && rng.next() < 0.5 ? value : JSON.stringify(value) ?? '';
  }),
  deepNest: (b, rng) => {
    const { text, data } = headerOf(b);
    const at = text.indexOf('"shape":') + 8;
    const depth = pick(rng, [63, 64, 65, 5000]);
    return withHeader(`${text.slice(0, at)}${'['.repeat(depth)}${']'.repeat(depth)},"x":${text.slice(at)}`, data, rng);
  },
  dataBytes: (b, rng) => {
    if (b.length < 8) return b;
    const out = b.slice();
    const n = new DataView(b.buffer, b.byteOffset).getUint32(0, true);
    if (out.length > 8 + n) for (let i = rng.int(1, 4); i > 0; i--) out[rng.int(8 + n, out.length - 1)] = rng.int(0, 255);
    return out;
  },
};

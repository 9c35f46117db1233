/**
 * Builders of raw safetensors bytes for tests, including malformed ones (headers written by hand so
 * that every rule can be broken on purpose).
 */

/** A file from a header given as an object or as exact JSON text, and a data buffer. */
export function rawSafetensors(header: unknown, data: Uint8Array = new Uint8Array(0), opts: { lengthField?: number | bigint; pad?: boolean } = {}): Uint8Array {
  let json = typeof header === 'string' ? header : JSON.stringify(header);
  if (opts.pad !== false) while ((json.length + 8) % 8 !== 0) json += ' ';
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(opts.lengthField ?? text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

/** Bytes 0, 1, 2, ... (mod 256). */
export function ramp(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = i & 0xff;
  return out;
}

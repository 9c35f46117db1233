import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AbqFormatError, type AbqFormatErrorCode } from '../../../shared/format/errors.ts';
import { MAX_HEADER_BYTES } from '../../../shared/format/safetensors-header.ts';
import { parseSafetensors } from '../../../shared/format/safetensors-read.ts';
import { serializeSafetensors } from '../../../shared/format/safetensors-serialize.ts';
import { encodeF16, f32ToBf16Bits } from '../../../shared/format/f16.ts';
import { describeWithShared, STORIES260K_DIR } from '../../helpers/shared-data.ts';
import { ramp, rawSafetensors } from './fixtures.ts';

function codeOf(fn: () => unknown): { code: AbqFormatErrorCode; tensor?: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof AbqFormatError) return { code: e.code, tensor: e.tensor };
    throw e;
  }
  throw new Error('expected an AbqFormatError, but parsing succeeded');
}

const f32Entry = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

describe('parseSafetensors: one bad file per error code', () => {
  const cases: [string, AbqFormatErrorCode, () => Uint8Array, string?][] = [
    ['fewer than 8 bytes', 'HEADER_TOO_SMALL', () => new Uint8Array(5)],
    ['header length 1', 'HEADER_TOO_SMALL', () => rawSafetensors('{', undefined, { pad: false })],
    ['length past the end', 'INVALID_HEADER_LENGTH', () => rawSafetensors('{}', undefined, { lengthField: 4000 })],
    ['length over 100 MB', 'HEADER_TOO_LARGE', () => rawSafetensors('{}', undefined, { lengthField: MAX_HEADER_BYTES + 1 })],
    ['length with the high word set', 'HEADER_TOO_LARGE', () => rawSafetensors('{}', undefined, { lengthField: 2n ** 40n })],
    ['not JSON', 'INVALID_JSON', () => rawSafetensors('{"a": ')],
    ['NUL padding', 'INVALID_JSON', () => rawSafetensors('{}\0\0\0\0\0\0', undefined, { pad: false })],
    ['bad UTF-8', 'INVALID_JSON', () => { const b = rawSafetensors('{"\u00e9":1}'); b[10] = 0xff; return b; }],
    ['an array', 'HEADER_NOT_OBJECT', () => rawSafetensors('[]')],
    ['leading space', 'HEADER_NOT_OBJECT', () => rawSafetensors(' {}')],
    ['duplicate tensor', 'DUPLICATE_KEY', () => rawSafetensors('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', ramp(1))],
    ['duplicate via escape', 'DUPLICATE_KEY', () => rawSafetensors('{"__metadata__":{"k":"1","\\u006b":"2"}}')],
    ['entry not an object', 'INVALID_TENSOR_INFO', () => rawSafetensors({ t: 3 }), 't'],
    ['extra key', 'INVALID_TENSOR_INFO', () => rawSafetensors({ t: { ...f32Entry([1], 0, 4), strides: [1] } }, ramp(4)), 't'],
    ['negative dim', 'INVALID_TENSOR_INFO', () => rawSafetensors({ t: f32Entry([-1], 0, 4) }, ramp(4)), 't'],
    ['fractional dim', 'INVALID_TENSOR_INFO', () => rawSafetensors({ t: f32Entry([1.5], 0, 4) }, ramp(4)), 't'],
    ['begin > end', 'INVALID_TENSOR_INFO', () => rawSafetensors({ t: f32Entry([0], 4, 0) }, ramp(4)), 't'],
    ['three offsets', 'INVALID_TENSOR_INFO', () => rawSafetensors({ t: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } }, ramp(4)), 't'],
    ['unknown dtype', 'UNKNOWN_DTYPE', () => rawSafetensors({ t: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, ramp(1)), 't'],
    ['shape overflow', 'SHAPE_OVERFLOW', () => rawSafetensors({ t: f32Entry([2 ** 30, 2 ** 30, 2 ** 30], 0, 4) }, ramp(4)), 't'],
    ['byte count overflow', 'SHAPE_OVERFLOW', () => rawSafetensors({ t: f32Entry([2 ** 52], 0, 4) }, ramp(4)), 't'],
    ['size mismatch', 'SIZE_MISMATCH', () => rawSafetensors({ t: f32Entry([2], 0, 4) }, ramp(4)), 't'],
    ['past the buffer', 'OFFSETS_OUT_OF_BOUNDS', () => rawSafetensors({ t: f32Entry([2], 0, 8) }, ramp(4)), 't'],
    ['hole', 'OFFSETS_NOT_CONTIGUOUS', () => rawSafetensors({ t: f32Entry([1], 4, 8) }, ramp(8)), 't'],
    ['overlap', 'OFFSETS_NOT_CONTIGUOUS', () => rawSafetensors({ a: f32Entry([2], 0, 8), b: f32Entry([1], 4, 8) }, ramp(8)), 'b'],
    ['bytes left over', 'OFFSETS_NOT_CONTIGUOUS', () => rawSafetensors({ t: f32Entry([1], 0, 4) }, ramp(8))],
    ['metadata not an object', 'INVALID_METADATA', () => rawSafetensors({ __metadata__: 'x' })],
    ['metadata number', 'INVALID_METADATA', () => rawSafetensors({ __metadata__: { a: 1 } })],
  ];
  for (const [what, code, build, tensor] of cases) {
    it(`${what} -> ${code}`, () => {
      const err = codeOf(() => parseSafetensors(build()));
      expect(err.code).toBe(code);
      if (tensor) expect(err.tensor).toBe(tensor);
    });
  }

  it('accepts an empty file "{}" and zero-size tensors', () => {
    expect(parseSafetensors(rawSafetensors('{}')).names()).toEqual([]);
    const st = parseSafetensors(rawSafetensors({ a: f32Entry([0, 3], 0, 0), b: f32Entry([1], 0, 4) }, ramp(4)));
    expect(st.f32('a').length).toBe(0);
    expect(st.names()).toEqual(['a', 'b']);
  });

  it('names the missing tensor and a wrong-dtype read', () => {
    const st = parseSafetensors(rawSafetensors({ t: f32Entry([1], 0, 4) }, ramp(4)));
    expect(codeOf(() => st.info('nope'))).toEqual({ code: 'MISSING_TENSOR', tensor: 'nope' });
    expect(codeOf(() => st.u32('t'))).toEqual({ code: 'WRONG_DTYPE', tensor: 't' });
    expect(codeOf(() => st.u8('t'))).toEqual({ code: 'WRONG_DTYPE', tensor: 't' });
  });
});

describe('serializeSafetensors -> parseSafetensors', () => {
  const f32 = new Float32Array([1.5, -2, 3.25]);
  const half = new Float32Array([0.5, -1, 65504, 2 ** -24]);
  const tensors = [
    { name: 'w.f32', dtype: 'F32' as const, shape: [3], data: f32 },
    { name: 'w.u8', dtype: 'U8' as const, shape: [1, 3], data: new Uint8Array([7, 8, 9]) },
    { name: 'w.f16', dtype: 'F16' as const, shape: [2, 2], data: encodeF16(half) },
    { name: 'w.bf16', dtype: 'BF16' as const, shape: [2], data: new Uint16Array([f32ToBf16Bits(1.5), f32ToBf16Bits(-3)]) },
    { name: 'w.u32', dtype: 'U32' as const, shape: [2], data: new Uint32Array([0xdeadbeef, 1]) },
    { name: 'w.f64', dtype: 'F64' as const, shape: [1], data: new Float64Array([Math.PI]) },
  ];
  const bytes = serializeSafetensors(tensors, { hello: 'world' });
  const st = parseSafetensors(bytes);

  it('pads the header to 8 and orders tensors by dtype size, then name', () => {
    expect((8 + new DataView(bytes.buffer).getUint32(0, true)) % 8).toBe(0);
    expect(st.names()).toEqual(['w.f64', 'w.f32', 'w.u32', 'w.bf16', 'w.f16', 'w.u8']);
    for (const n of st.names()) {
      const v = st.bytes(n);
      expect(v.byteOffset % 8 === 0 || v.byteOffset % st.view(n).BYTES_PER_ELEMENT === 0).toBe(true);
    }
  });

  it('round-trips values, with zero-copy views when aligned', () => {
    expect(st.metadata).toEqual({ hello: 'world' });
    expect(Array.from(st.f32('w.f32'))).toEqual([1.5, -2, 3.25]);
    expect(st.f32('w.f32').buffer).toBe(bytes.buffer);
    expect(Array.from(st.f32('w.f16'))).toEqual(Array.from(half));
    expect(Array.from(st.f32('w.bf16'))).toEqual([1.5, -3]);
    expect(Array.from(st.u32('w.u32'))).toEqual([0xdeadbeef, 1]);
    expect(st.u32('w.u32').buffer).toBe(bytes.buffer);
    expect(Array.from(st.u8('w.u8'))).toEqual([7, 8, 9]);
    expect(Array.from(st.f16bits('w.f16'))).toEqual(Array.from(encodeF16(half)));
    expect(st.info('w.u8')).toMatchObject({ dtype: 'U8', shape: [1, 3] });
  });

  it('copies when the input is unaligned, with the same values', () => {
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const un = parseSafetensors(shifted.subarray(1));
    const v = un.f32('w.f32');
    expect(v.buffer).not.toBe(shifted.buffer);
    expect(Array.from(v)).toEqual([1.5, -2, 3.25]);
    expect(Array.from(un.u32('w.u32'))).toEqual([0xdeadbeef, 1]);
  });

  it('rejects a data size that does not match the shape, and duplicate names', () => {
    expect(codeOf(() => serializeSafetensors([{ name: 'a', dtype: 'F32', shape: [2], data: new Float32Array(3) }])).code).toBe('SIZE_MISMATCH');
    expect(codeOf(() => serializeSafetensors([tensors[0], tensors[0]])).code).toBe('DUPLICATE_KEY');
  });
});

describeWithShared('parseSafetensors on a Hugging Face file (stories260K)', () => {
  it('lists every tensor with shapes matching config.json', () => {
    const file = readFileSync(path.join(STORIES260K_DIR!, 'model.safetensors'));
    const config = JSON.parse(readFileSync(path.join(STORIES260K_DIR!, 'config.json'), 'utf8'));
    const st = parseSafetensors(new Uint8Array(file.buffer, file.byteOffset, file.length));
    expect(st.info('model.embed_tokens.weight').shape).toEqual([config.vocab_size, config.hidden_size]);
    expect(st.names().filter((n) => n.endsWith('.mlp.down_proj.weight')).length).toBe(config.num_hidden_layers);
    expect(st.f32('model.norm.weight').length).toBe(config.hidden_size);
    // Re-serializing gives a file that parses to the same tensors.
    const again = parseSafetensors(serializeSafetensors(st.names().map((n) => ({ ...st.info(n), data: st.bytes(n) })), st.metadata));
    for (const n of st.names()) expect(Buffer.compare(again.bytes(n), st.bytes(n)), n).toBe(0);
  });
});

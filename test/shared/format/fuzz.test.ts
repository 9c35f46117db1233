/**
 * Fuzz: seeded mutations of small valid files (plain safetensors, and packed models of several bit
 * widths with ragged K). Every mutated file must either parse or throw AbqFormatError: never another
 * error, never a hang. Per-case work is capped by keeping every base file under MAX_BASE_BYTES, so the
 * readers' linear checks bound each case.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../shared/util/rng.ts';
import { AbqFormatError } from '../../../shared/format/errors.ts';
import { parseSafetensors } from '../../../shared/format/safetensors-read.ts';
import { serializeSafetensors } from '../../../shared/format/safetensors-serialize.ts';
import { readPackedModelFromBuffers } from '../../../shared/format/packed-read.ts';
import type { PackedModelData } from '../../../shared/format/packed-write.ts';
import { layerSpec, packedWeightsFor, smallPackedModel } from './packed-fixtures.ts';
import { packedBytes } from './packed-bytes.ts';
import { MUTATORS } from './mutators.ts';

// ABQ_FUZZ_SEED / ABQ_FUZZ_CASES run other seeds or longer campaigns; ABQ_FUZZ_REPORT prints the outcome counts.
const CASES = Number(process.env.ABQ_FUZZ_CASES ?? 10_000);
const SEED = Number(process.env.ABQ_FUZZ_SEED ?? 20261122);
const MAX_BASE_BYTES = 16 * 1024;
/** A case slower than this is treated as a hang (this is a safety net, not a speed assertion). */
const HANG_MS = 5_000;

function plainBase(): Uint8Array {
  return serializeSafetensors([
    { name: 'f64', dtype: 'F64', shape: [2], data: new Float64Array([1, -2]) },
    { name: 'f32', dtype: 'F32', shape: [2, 3], data: new Float32Array(6).fill(0.5) },
    { name: 'f16', dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0x7c00, 0x7e00]) },
    { name: 'bf16', dtype: 'BF16', shape: [1, 2], data: new Uint16Array([0x3f80, 0xbf80]) },
    { name: 'i64', dtype: 'I64', shape: [1], data: new BigInt64Array([-5n]) },
    { name: 'u64', dtype: 'U64', shape: [1], data: new BigUint64Array([5n]) },
    { name: 'i32', dtype: 'I32', shape: [2], data: new Int32Array([-1, 1]) },
    { name: 'u32', dtype: 'U32', shape: [1], data: new Uint32Array([7]) },
    { name: 'i16', dtype: 'I16', shape: [1], data: new Int16Array([-3]) },
    { name: 'u16', dtype: 'U16', shape: [1], data: new Uint16Array([3]) },
    { name: 'i8', dtype: 'I8', shape: [3], data: new Int8Array([-1, 0, 1]) },
    { name: 'u8', dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
    { name: 'bool', dtype: 'BOOL', shape: [1], data: new Uint8Array([1]) },
    { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  ], { note: 'fuzz base' });
}

function widerModel(): PackedModelData {
  const specs = [
    layerSpec('a.q', { wbits: 5, inFeatures: 100, groupSize: 32, actGroupSize: 64 }),
    layerSpec('a.k', { wbits: 6, inFeatures: 65, symmetric: true, levels: 63, abits: 6 }),
    layerSpec('a.v', { wbits: 7, inFeatures: 32, abits: 16, hasBias: true }),
  ];
  const base = smallPackedModel(3);
  return { ...base, layers: specs.map((spec, i) => ({ spec, weights: packedWeightsFor(spec, 50 + i) })) };
}

interface Base { name: string; bytes: Uint8Array; configJson?: string }

function bases(): Base[] {
  const out: Base[] = [{ name: 'plain', bytes: plainBase() }];
  for (const [name, model] of [['packed-small', smallPackedModel(1)], ['packed-wide', widerModel()]] as const) {
    const { safetensorsBytes, configJson } = packedBytes(model);
    out.push({ name, bytes: safetensorsBytes, configJson });
  }
  return out;
}

describe('fuzz: mutated files parse or throw AbqFormatError', () => {
  it(`survives ${CASES} seeded mutations`, async () => {
    const rng = new Rng(SEED);
    const all = bases();
    for (const b of all) expect(b.bytes.length).toBeLessThan(MAX_BASE_BYTES);
    const names = Object.keys(MUTATORS);
    const outcomes = new Map<string, number>();
    const failures: string[] = [];
    let slowest = 0;
    for (let i = 0; i < CASES; i++) {
      const base = all[i % all.length];
      const chain = [names[rng.int(0, names.length - 1)]];
      if (rng.next() < 0.2) chain.push(pick(rng, ['bitFlips', 'truncate', 'headerByte', 'dataBytes', 'insertOrDelete']));
      let bytes = base.bytes;
      for (const m of chain) bytes = MUTATORS[m](bytes, rng);
      let configJson = base.configJson;
      if (configJson && rng.next() < 0.05) configJson = configJson.slice(0, rng.int(0, configJson.length));
      const started = performance.now();
      const record = (e: unknown) => {
        if (e instanceof AbqFormatError) outcomes.set(e.code, (outcomes.get(e.code) ?? 0) + 1);
        else failures.push(`case ${i} (${base.name}, ${chain.join('+')}): ${(e as Error)?.stack ?? e}`);
      };
      try {
        parseSafetensors(bytes);
        outcomes.set('parsed', (outcomes.get('parsed') ?? 0) + 1);
      } catch (e) {
        record(e);
      }
      if (base.configJson) {
        try {
          const m = await readPackedModelFromBuffers({ safetensorsBytes: bytes, configJson }, { verify: i % 7 === 0 });
          for (const name of m.floatNames()) m.float(name);
          outcomes.set('packed-read', (outcomes.get('packed-read') ?? 0) + 1);
        } catch (e) {
          record(e);
        }
      }
      slowest = Math.max(slowest, performance.now() - started);
    }
    if (process.env.ABQ_FUZZ_REPORT) console.log(`seed ${SEED}: ${failures.length} failures, slowest case ${slowest.toFixed(1)} ms`, Object.fromEntries(outcomes));
    expect(failures.slice(0, 5)).toEqual([]);
    expect(slowest).toBeLessThan(HANG_MS);
    // The mutations must reach deep rules, not just the first check.
    for (const code of ['parsed', 'packed-read', 'INVALID_JSON', 'DUPLICATE_KEY', 'SIZE_MISMATCH', 'OFFSETS_NOT_CONTIGUOUS', 'OFFSETS_OUT_OF_BOUNDS',
      'UNKNOWN_DTYPE', 'INVALID_HEADER_LENGTH', 'HEADER_TOO_LARGE', 'INVALID_LAYER_SPEC', 'CHECKSUM_MISMATCH', 'QWEIGHT_MISMATCH']) {
      expect(outcomes.get(code) ?? 0, `outcome ${code} never happened: ${JSON.stringify([...outcomes])}`).toBeGreaterThan(0);
    }
  });
});

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(0, xs.length - 1)];
}

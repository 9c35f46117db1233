/**
 * The WASM engine running inside workerd on stories260K (RTN W4A8 and W2A8 packed in the worker):
 * the same greedy tokens as the reference integer path, computed in the same isolate.
 */
import { env } from 'cloudflare:workers';
import kernelsSimd from '../../../wasm/build/kernels-simd.wasm';
import { describe, expect, it } from 'vitest';
import { parseSafetensors } from '../../../shared/format/safetensors-read.ts';
import { argmax } from '../../../shared/model/sampling.ts';
import { createWasmEngine } from '../../../wasm/src/index.ts';
import { rtnModel } from '../../../wasm/src/rtn-model-source.ts';

interface Env { STORIES_SAFETENSORS?: ArrayBuffer; STORIES_CONFIG?: string; HAVE_STORIES: string }
const E = env as unknown as Env;
const STEPS = 48;
const BOS = 1;
const SKIP = 'skipped: ../shared (stories260K) not found beside the repository';

describe('WASM engine in workerd', () => {
  it('the kernel binding is a compiled module and SIMD validates', () => {
    expect(kernelsSimd).toBeInstanceOf(WebAssembly.Module);
    expect(WebAssembly.Module.exports(kernelsSimd).map((e) => e.name)).toContain('bitGemm');
  });

  const withStories = E.HAVE_STORIES === 'yes' ? it : it.skip;
  for (const spec of [{ wbits: 4, abits: 8, groupSize: 0 }, { wbits: 2, abits: 8, groupSize: 32 }]) {
    withStories(`W${spec.wbits}A${spec.abits}: greedy tokens equal the reference integer path${E.HAVE_STORIES === 'yes' ? '' : ` (${SKIP})`}`, async () => {
      const st = parseSafetensors(new Uint8Array(E.STORIES_SAFETENSORS!));
      const config = JSON.parse(E.STORIES_CONFIG!) as Record<string, unknown>;
      const { source, reference } = rtnModel(config, (n) => (st.has(n) ? st.f32(n) : undefined), spec);
      const engine = await createWasmEngine({ model: source, kernels: { simd: kernelsSimd }, maxSeq: 128 });
      expect(engine.flavor).toBe('simd');
      const got: number[] = [];
      for await (const { token } of engine.generate([BOS], { temperature: 0 }, { maxTokens: STEPS, stop: [] })) got.push(token);
      const cache = reference.newCache(STEPS + 1);
      const want: number[] = [];
      let logits = reference.forward([BOS], cache);
      for (let i = 0; i < STEPS; i++) {
        want.push(argmax(logits));
        logits = reference.forward([want[i]], cache);
      }
      expect(got).toEqual(want);
    });
  }
});

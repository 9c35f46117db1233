import { describe, expect, it, beforeAll } from 'vitest';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeWithShared, STORIES260K_DIR, TINYSTORIES_TXT } from '../../helpers/shared-data.ts';
import { quantizeModel, type QuantizeOptions, type QuantizedModel } from '../../../shared/quant/pipeline.ts';
import { DEFAULT_SETTINGS, type QuantSettings } from '../../../shared/quant/quant-config.ts';
import { buildQuantizedLlama, layersForModel } from '../../../shared/quant/build-model.ts';
import { evaluatePerplexity, prepareEval, type EvalPlan } from '../../../shared/eval/index.ts';
import type { LogitsModel } from '../../../shared/eval/logits-model.ts';
import { readFile } from 'node:fs/promises';
import { loadTokenizer } from '../../../shared/tokenizer/load-tokenizer.ts';
import { writeQuantizedModel } from '../../../shared/quant/write-packed.ts';
import { loadPackedLlama } from '../../../shared/quant/load-packed.ts';

/** Small calibration budgets keep each run to seconds; the bench uses the real settings. */
const CALIB = { nsamples: 4, seqlen: 64, seed: 1, skip: 500 };
const EVAL_DOCS = 2;
/** These runs take seconds on a quiet machine; the margin is for a loaded CI box. */
const SLOW = 300_000;

function layersOf(qm: QuantizedModel) {
  return layersForModel(qm.layers);
}

describeWithShared('quantizeModel on stories260K', () => {
  let plan: EvalPlan;
  const perplexity = async (model: LogitsModel) => (await evaluatePerplexity(model, plan)).ppl;
  const run = (method: string, settings: Partial<QuantSettings>, extra: Partial<QuantizeOptions> = {}) =>
    quantizeModel({ model: STORIES260K_DIR!, method, settings: { ...DEFAULT_SETTINGS, ...settings }, calib: { file: TINYSTORIES_TXT!, ...CALIB }, epochs: 3, ...extra });
  const ppl = (qm: QuantizedModel, p: 'simulated' | 'integer' = 'simulated') =>
    perplexity(buildQuantizedLlama(qm.source.config, layersOf(qm), (n) => qm.floats.get(n), p));

  beforeAll(async () => {
    const tok = await loadTokenizer(STORIES260K_DIR!);
    plan = prepareEval(await readFile(TINYSTORIES_TXT!, 'utf8'), tok, { protocol: 'stream', seqlen: 512, stories: EVAL_DOCS });
  });

  for (const method of ['omniquant', 'affinequant', 'abq']) {
    it(`${method} lowers every block's loss and beats RTN at W4A4`, async () => {
      const qm = await run(method, { w: 4, a: 4 }, { calib: { file: TINYSTORIES_TXT!, ...CALIB, nsamples: 8 } });
      expect(qm.blocks.every((b) => b.finalLoss! < b.initialLoss!)).toBe(true);
      expect(await ppl(qm)).toBeLessThan(await ppl(await run('rtn', { w: 4, a: 4 })));
    }, SLOW);
  }

  it('omniquant (LWC) beats RTN at W3A16', async () => {
    expect(await ppl(await run('omniquant', { w: 3, a: 16 }))).toBeLessThan(await ppl(await run('rtn', { w: 3, a: 16 })));
  }, SLOW);

  it('flexq keeps A8 on the layers whose A8 lowers the calibration loss most', async () => {
    const flex = await run('flexq', { w: 6, a: 6, group: 32, partialGroups: true }, { flexq: { budget: 0.1 } });
    expect(flex.flexq!.chosen.length).toBe(4);
    for (const l of flex.layers) expect(l.spec.abits).toBe(flex.flexq!.chosen.includes(l.name) ? 8 : 6);
    // The chosen layers are the four whose A8 lowered the calibration loss most, each by a positive amount.
    const top = [...flex.flexq!.benefit].sort((x, y) => y.delta - x.delta).slice(0, 4);
    expect(new Set(flex.flexq!.chosen)).toEqual(new Set(top.map((t) => t.name)));
    expect(top.every((t) => t.delta > 0)).toBe(true);
  }, SLOW);

  it('is deterministic for a seed', async () => {
    const a = await run('abq', { w: '2*', a: 8 }, { epochs: 1 });
    const b = await run('abq', { w: '2*', a: 8 }, { epochs: 1 });
    a.layers.forEach((l, i) => {
      expect(Buffer.from(l.packed.planes.buffer).equals(Buffer.from(b.layers[i].packed.planes.buffer))).toBe(true);
      expect(Array.from(l.packed.scales)).toEqual(Array.from(b.layers[i].packed.scales));
    });
    expect(a.layers[0].spec).toMatchObject({ wbits: 3, levels: 5, symmetric: true });
  }, SLOW);

  it('writes a packed folder whose integer path matches the simulated path within 0.1%', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'abq-quant-'));
    try {
      const qm = await run('omniquant', { w: 4, a: 8 }, { epochs: 1 });
      const out = path.join(dir, 'model');
      await writeQuantizedModel(out, qm);
      const { model } = await loadPackedLlama(out, 'integer');
      const integer = await perplexity(model);
      const simulated = await ppl(qm);
      expect(Math.abs(integer - simulated) / simulated).toBeLessThan(1e-3);
      // v_proj / o_proj carry the folded LET shift as biases.
      expect(qm.layers.find((l) => l.name.endsWith('self_attn.o_proj'))!.packed.bias).toBeDefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, SLOW);

  it('resumes an interrupted calibration from the last finished block', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'abq-resume-'));
    try {
      const opts = { checkpointDir: dir, epochs: 1 };
      const full = await run('omniquant', { w: 4, a: 4 }, opts);
      await rm(dir, { recursive: true, force: true });
      await expect(run('omniquant', { w: 4, a: 4 }, { ...opts, progress: { blockDone: (l) => { if (l === 2) throw new Error('interrupted'); } } })).rejects.toThrow('interrupted');
      const resumed = await run('omniquant', { w: 4, a: 4 }, { ...opts, resume: true });
      expect(resumed.blocks.map((b) => b.resumed)).toEqual([true, true, true, false, false]);
      resumed.layers.forEach((l, i) => expect(Array.from(l.packed.planes)).toEqual(Array.from(full.layers[i].packed.planes)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, SLOW);

  it('matches checkpoints by content: they resume after the model and calibration text move, not for other text', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'abq-resume-moved-'));
    try {
      const opts = { checkpointDir: path.join(dir, 'ckpt'), epochs: 1 };
      const full = await run('omniquant', { w: 4, a: 4 }, opts);
      const movedModel = path.join(dir, 'model');
      await cp(STORIES260K_DIR!, movedModel, { recursive: true });
      const movedText = path.join(dir, 'calib.txt');
      await cp(TINYSTORIES_TXT!, movedText);
      const moved = await quantizeModel({ model: movedModel, method: 'omniquant', settings: { ...DEFAULT_SETTINGS, w: 4, a: 4 }, calib: { file: movedText, ...CALIB }, ...opts, resume: true });
      expect(moved.blocks.every((b) => b.resumed)).toBe(true);
      moved.layers.forEach((l, i) => expect(Array.from(l.packed.planes)).toEqual(Array.from(full.layers[i].packed.planes)));
      await writeFile(movedText, `${await readFile(TINYSTORIES_TXT!, 'utf8')}\nOne more story.\n`);
      const other = await quantizeModel({ model: movedModel, method: 'omniquant', settings: { ...DEFAULT_SETTINGS, w: 4, a: 4 }, calib: { file: movedText, ...CALIB }, ...opts, resume: true });
      expect(other.blocks.some((b) => b.resumed)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, SLOW);
});

describe('quantizer test data', () => {
  it('locates the shared data or says why not', () => {
    expect(typeof (STORIES260K_DIR ?? 'absent')).toBe('string');
  });
});

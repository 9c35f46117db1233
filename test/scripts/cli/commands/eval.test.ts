import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeWithShared, STORIES260K_DIR, TINYSTORIES_TXT, WIKITEXT_TEST } from '../../../helpers/shared-data.ts';
import { runCli } from './run-cli.ts';

/** ../shared/models/stories260K/reference_eval.json, stream protocol, seqlen 512. */
const REFERENCE = { stories20: { loss: 1.280008, targets: 6626 }, stories200: { loss: 1.331789, targets: 74399 } };
const RELATIVE_TOLERANCE = 0.003;
/**
 * The 200-story run scores 74,399 targets with the f32 reference forward: about 90 s on a quiet
 * 2-core machine and over 4 minutes on a loaded one, too slow for every test run. ABQ_SLOW_TESTS=1 runs it.
 */
const RUN_SLOW = process.env.ABQ_SLOW_TESTS === '1';
const SLOW_TIMEOUT_MS = 900_000;

describeWithShared('abq-pack eval (real CLI, stories260K)', () => {
  it('reproduces the reference stream loss on the first 20 stories (--json)', async () => {
    const run = await runCli(['eval', STORIES260K_DIR!, '--data', TINYSTORIES_TXT!, '--stories', '20', '--json']);
    expect(run.stderr).toMatch(/eval: 6626\/6626 targets \(100%\)/); // plain progress lines when not on a TTY
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ protocol: 'stream', seqlen: 512, stories: 20, tokens: 6627, targets: REFERENCE.stories20.targets, windows: 13 });
    expect(Math.abs(result.loss / REFERENCE.stories20.loss - 1)).toBeLessThan(RELATIVE_TOLERANCE);
    expect(result.ppl).toBeCloseTo(Math.exp(result.loss), 10);
    expect(result.tokensPerSecond).toBeGreaterThan(0);
  });

  it('prints a table with loss, perplexity, tokens and speed', async () => {
    const run = await runCli(['eval', STORIES260K_DIR!, '--data', TINYSTORIES_TXT!, '--protocol', 'per-story', '--stories', '2', '--seqlen', '128']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^model +stories260K \(float/m);
    expect(run.stdout).toMatch(/^data +TinyStories-validation-first1000\.txt: per-story, 2 stories, seqlen 128$/m);
    expect(run.stdout).toMatch(/^tokens +256 \(254 targets scored in 2 windows\)$/m);
    expect(run.stdout).toMatch(/^loss +\d\.\d{6}$/m);
    expect(run.stdout).toMatch(/^perplexity +\d+\.\d{4}$/m);
    expect(run.stdout).toMatch(/^speed +\d+ tokens\/s/m);
  });

  it('runs the wikitext (GPTQ) protocol: non-overlapping windows, seqlen - 1 targets each', async () => {
    // stories260K knows no Wikipedia; this checks the protocol's plumbing, not a meaningful perplexity.
    const run = await runCli(['eval', STORIES260K_DIR!, '--data', WIKITEXT_TEST!, '--protocol', 'wikitext', '--seqlen', '256', '--max-tokens', '600', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ protocol: 'wikitext', stories: null, windows: 2, tokens: 512, targets: 510 });
  });

  it('loads a packed folder through its quantization_config (W8A8 RTN from abq-pack quantize)', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'abq-eval-packed-'));
    try {
      const out = path.join(tmp, 'w8a8');
      const quantize = await runCli(['quantize', STORIES260K_DIR!, '--method', 'rtn', '--w', '8', '--a', '8', '--out', out]);
      expect(quantize.code, quantize.stderr).toBe(0);
      const args = ['--data', TINYSTORIES_TXT!, '--stories', '3', '--json'];
      const [packed, float] = [await runCli(['eval', out, ...args]), await runCli(['eval', STORIES260K_DIR!, ...args])];
      expect(packed.code, packed.stderr).toBe(0);
      const [p, f] = [JSON.parse(packed.stdout), JSON.parse(float.stdout)];
      expect(p.modelKind).toMatch(/^abq W8A8/);
      expect(p.targets).toBe(f.targets);
      // Measured: 1.339666 packed vs 1.336578 float (+0.23%). Only plumbing is asserted here.
      expect(Math.abs(p.loss / f.loss - 1)).toBeLessThan(0.02);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('refuses options that do not fit the protocol or the model, with exit code 2', async () => {
    const wrong = await runCli(['eval', STORIES260K_DIR!, '--data', TINYSTORIES_TXT!, '--protocol', 'wikitext', '--stories', '3']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--stories applies to the stream and per-story protocols/);
    const tooLong = await runCli(['eval', STORIES260K_DIR!, '--data', TINYSTORIES_TXT!, '--seqlen', '4096', '--stories', '1']);
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toMatch(/--seqlen 4096 exceeds the model's max_position_embeddings \(512\)/);
    const noData = await runCli(['eval', STORIES260K_DIR!]);
    expect(noData.code).toBe(2);
    expect(noData.stderr).toMatch(/--data <file> is required/);
  });
});

describe('abq-pack eval, 200 stories', () => {
  const name = 'reproduces the reference stream loss on the first 200 stories';
  if (!RUN_SLOW || !STORIES260K_DIR) {
    it.skip(`${name} (skipped: takes 1.5-4 minutes with the f32 reference; set ABQ_SLOW_TESTS=1${STORIES260K_DIR ? '' : ' and provide ../shared'})`, () => {});
    return;
  }
  it(name, async () => {
    const run = await runCli(['eval', STORIES260K_DIR!, '--data', TINYSTORIES_TXT!, '--stories', '200', '--json'], SLOW_TIMEOUT_MS);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.targets).toBe(REFERENCE.stories200.targets);
    expect(Math.abs(result.loss / REFERENCE.stories200.loss - 1)).toBeLessThan(RELATIVE_TOLERANCE);
  }, SLOW_TIMEOUT_MS);
});

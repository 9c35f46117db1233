import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeWithShared, STORIES260K_DIR } from '../../../helpers/shared-data.ts';
import { runCli } from './run-cli.ts';

describeWithShared('abq-pack generate (real CLI, stories260K)', () => {
  it("greedy from BOS for 256 tokens prints llama2.c's documented stories260K sample byte for byte", async () => {
    const reference = JSON.parse(readFileSync(path.join(STORIES260K_DIR!, 'reference_eval.json'), 'utf8')).greedy_from_bos_256_steps as string;
    const run = await runCli(['generate', STORIES260K_DIR!, '--max-tokens', '256']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(reference + '\n');
    expect(run.stderr).toMatch(/256 tokens in .* tokens\/s\), stopped at max-tokens/);
  });

  it('samples reproducibly with a seed, continues the prompt, and echoes it on request', async () => {
    const args = ['generate', STORIES260K_DIR!, '--prompt', 'Once upon a time', '--max-tokens', '24', '--temperature', '0.9', '--top-p', '0.95', '--top-k', '40', '--seed', '11', '--echo'];
    const [a, b] = [await runCli(args), await runCli(args)];
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout.startsWith('Once upon a time')).toBe(true);
    expect(a.stdout.length).toBeGreaterThan('Once upon a time'.length + 10);
    const other = await runCli([...args.slice(0, -2), '12', '--echo']);
    expect(other.stdout).not.toBe(a.stdout);
  });

  it('rejects bad sampling options with exit code 2', async () => {
    const run = await runCli(['generate', STORIES260K_DIR!, '--top-p', '1.5']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--top-p must be in \(0, 1\], got 1\.5/);
  });
});

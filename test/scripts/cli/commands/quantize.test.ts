import { describe, expect, it, vi } from 'vitest';
import { main } from '../../../../scripts/cli/main.ts';
import { describeWithShared, STORIES260K_DIR } from '../../../helpers/shared-data.ts';

async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => { out.push(a.join(' ')); });
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => { err.push(a.join(' ')); });
  try {
    const code = await main(args);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe('abq-pack quantize', () => {
  it('is registered with its methods in the help', async () => {
    const r = await runCli(['quantize', '--help']);
    expect(r.code).toBe(0);
    for (const m of ['rtn', 'omniquant', 'affinequant', 'abq', 'flexq']) expect(r.out).toContain(m);
  });
});

describeWithShared('abq-pack quantize on stories260K', () => {
  it('--dry-run prints the output size', async () => {
    const r = await runCli(['quantize', STORIES260K_DIR!, '--w', '4', '--a', '8', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/W4A8: 35 quantized linears, 0\.\d+ MiB packed/);
  });
  it('bad bits, group sizes and missing --out are usage errors', async () => {
    expect((await runCli(['quantize', STORIES260K_DIR!, '--w', '9', '--out', 'x'])).err).toMatch(/weight bits must be an integer in 1\.\.8/);
    const g = await runCli(['quantize', STORIES260K_DIR!, '--group', '64', '--dry-run']);
    expect(g.code).not.toBe(0);
    expect(g.err).toMatch(/does not divide its 172 input features/);
    expect((await runCli(['quantize', STORIES260K_DIR!])).err).toMatch(/--out <dir> is required/);
  });
});

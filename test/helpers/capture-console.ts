/**
 * Captures what a CLI command prints through console.log / console.error, for tests that call a
 * command's run() in-process. Pair with `vi.restoreAllMocks()` in afterEach.
 */
import { vi } from 'vitest';

export function captureConsole(): { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  return { out, err };
}

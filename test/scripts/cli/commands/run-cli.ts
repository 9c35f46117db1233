/** Runs the real `abq-pack` binary (scripts/bin/abq-pack.js) in a child process, as a user would. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../../../helpers/shared-data.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], timeoutMs = 120_000): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(REPO_ROOT, 'scripts', 'bin', 'abq-pack.js'), ...args], { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Starts a real GPU node server (gpu-node/server/main.ts) as a child process on 127.0.0.1, so tests
 * can kill it with a real signal. Runs `node --import tsx` directly (one process: killing it kills
 * the server, unlike the tsx wrapper, which would leave a child behind).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_SECRET } from './constants.ts';

// Not from shared-data.ts: this module also runs in vitest global setups, which must not import vitest.
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

const START_TIMEOUT_MS = 30_000;

export interface NodeProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startNodeProcess(opts: { modelDir: string; port?: number; backend?: string; args?: string[]; secret?: string }): Promise<NodeProcess> {
  const args = ['--import', 'tsx', path.join(REPO_ROOT, 'gpu-node/server/main.ts'), '--backend', opts.backend ?? 'wasm', '--model', opts.modelDir, '--model-id', 'stories260K', '--port', String(opts.port ?? 0), ...(opts.args ?? [])];
  const proc = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ABQ_NODE_SECRET: opts.secret ?? TEST_SECRET }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node server did not start in ${START_TIMEOUT_MS} ms:\n${out}`)), START_TIMEOUT_MS);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /abq-node listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node server exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    proc,
    output: () => out,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}

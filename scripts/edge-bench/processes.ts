/**
 * Starts the node server and the edge as child processes for the benchmark (so the load generator
 * does not share their event loops), each with `node --import tsx`, and stops them by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Child {
  url: string;
  proc: ChildProcess;
  /** SIGKILL by default; SIGTERM lets a process write its --cpu-prof profile on the way out. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `nodeArgs`: extra flags for node itself (e.g. --cpu-prof, which NODE_OPTIONS does not accept). */
export async function startChild(script: string, args: string[], env: Record<string, string>, readyPattern: RegExp, nodeArgs: string[] = []): Promise<Child> {
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(ROOT, script), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = readyPattern.exec(out);
      if (m) resolve(m[1]);
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}:\n${out}`)));
  });
  return {
    url,
    proc,
    stop: (signal = 'SIGKILL') =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill(signal);
      }),
  };
}

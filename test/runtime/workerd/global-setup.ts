/**
 * Runs on the Node side before the workerd suite: starts one real GPU node server (WASM backend,
 * stories260K) on 127.0.0.1 for the Worker to route to, and hands its URL to the suite.
 */
import type { TestProject } from 'vitest/node';
import { startNodeProcess, type NodeProcess } from '../../edge/helpers/node-process.ts';

let node: NodeProcess | undefined;

export async function setup(project: TestProject): Promise<void> {
  // vitest.config.ts located stories260K through shared-data.ts (global setups must not import vitest).
  const dir = process.env.ABQ_EDGE_WORKERD_STORIES;
  if (dir) node = await startNodeProcess({ modelDir: dir });
  project.provide('nodeUrl', node?.url ?? '');
}

export async function teardown(): Promise<void> {
  await node?.kill();
}

declare module 'vitest' {
  export interface ProvidedContext {
    nodeUrl: string;
  }
}

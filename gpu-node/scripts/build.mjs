#!/usr/bin/env node
// Builds the CUDA addon and benchmark (npm run build:cuda). Never part of `npm install`: on a machine
// without nvcc or cmake it prints why it skipped and exits 0 unless --require is given, so installs
// and the WASM path never depend on CUDA.
//
// Env: ABQ_CUDA_ARCHS (default "90a;80"), ABQ_BUILD_DIR (default gpu-node/build), ABQ_NODE_INCLUDE (Node
// headers), CMAKE_BUILD_PARALLEL_LEVEL.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const gpuNode = path.resolve(here, '..');
const buildDir = process.env.ABQ_BUILD_DIR ? path.resolve(process.env.ABQ_BUILD_DIR) : path.join(gpuNode, 'build');
const require = createRequire(import.meta.url);
const requireTools = process.argv.includes('--require');

function which(cmd, extra = []) {
  const found = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  return extra.find((p) => existsSync(p));
}

function skip(reason) {
  console.log(`build:cuda skipped: ${reason}`);
  process.exit(requireTools ? 1 : 0);
}

const nvcc = which('nvcc', ['/usr/local/cuda/bin/nvcc', '/usr/local/bin/nvcc']);
if (!nvcc) skip('nvcc not found (install the CUDA toolkit 12.8+ or put nvcc on PATH)');
const cmake = which('cmake');
if (!cmake) skip('cmake not found');

const nodeInclude = [
  process.env.ABQ_NODE_INCLUDE,
  path.resolve(path.dirname(process.execPath), '../include/node'),
  '/usr/include/node',
  path.resolve(gpuNode, '../.device/node-include'),
].find((p) => p && existsSync(path.join(p, 'node_api.h')));
let napiInclude;
try {
  napiInclude = path.dirname(require.resolve('node-addon-api/package.json'));
} catch {
  napiInclude = [path.resolve(gpuNode, '../.device/napi-include')].find((p) => existsSync(path.join(p, 'napi.h')));
}

const args = ['-S', gpuNode, '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release', `-DCMAKE_CUDA_COMPILER=${nvcc}`];
if (process.env.ABQ_CUDA_ARCHS) args.push(`-DABQ_CUDA_ARCHS=${process.env.ABQ_CUDA_ARCHS}`);
if (nodeInclude && napiInclude) args.push(`-DNODE_INCLUDE_DIR=${nodeInclude}`, `-DNAPI_INCLUDE_DIR=${napiInclude}`);
else console.log('build:cuda: Node headers or node-addon-api not found; building the kernels and benchmark only');

execFileSync(cmake, args, { stdio: 'inherit' });
execFileSync(cmake, ['--build', buildDir, '--parallel', process.env.CMAKE_BUILD_PARALLEL_LEVEL ?? '4'], { stdio: 'inherit' });
console.log(`build:cuda: done (${buildDir})`);

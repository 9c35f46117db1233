/**
 * Resume checkpoints: after each calibrated block its learned parameters are written to
 * `<dir>/block-<l>.safetensors` (temp file + rename, so a crash never leaves a half file) with a
 * fingerprint of everything that shaped them (method, bits, calibration data, seed). A rerun with
 * the same fingerprint reuses finished blocks and replays them forward only; a different fingerprint
 * ignores them.
 */
import { mkdir, readFile, rename, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { serializeSafetensors } from '../format/safetensors-serialize.ts';
import { parseSafetensors } from '../format/safetensors-read.ts';
import { param } from './autograd/index.ts';
import type { BlockParams } from './block.ts';
import type { LinearName } from '../model/llama.ts';

const FINGERPRINT_KEY = 'abq.calib.fingerprint';
const SCALAR_KEYS = ['sQkv', 'sGu', 'sUd', 'sVo', 'shiftVo', 'affineVo', 'lowRankL', 'lowRankRt'] as const;

function blockFile(dir: string, layer: number): string {
  return path.join(dir, `block-${layer}.safetensors`);
}

export async function saveBlockCheckpoint(dir: string, layer: number, fingerprint: string, p: BlockParams): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tensors: { name: string; dtype: 'F32'; shape: number[]; data: Float32Array }[] = [];
  for (const [kind, rec] of [['clipLo', p.clipLo], ['clipHi', p.clipHi]] as const) {
    for (const [n, t] of Object.entries(rec ?? {})) if (t) tensors.push({ name: `${kind}.${n}`, dtype: 'F32', shape: [...t.shape], data: t.data });
  }
  for (const k of SCALAR_KEYS) { const t = p[k]; if (t) tensors.push({ name: k, dtype: 'F32', shape: [...t.shape], data: t.data }); }
  if (p.affineMask) tensors.push({ name: 'affineMask', dtype: 'F32', shape: [p.affineMask.length], data: p.affineMask });
  const bytes = serializeSafetensors(tensors, { [FINGERPRINT_KEY]: fingerprint });
  const tmp = `${blockFile(dir, layer)}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, blockFile(dir, layer));
}

/** The saved params of a block, or undefined when absent or made with another fingerprint. */
export async function loadBlockCheckpoint(dir: string, layer: number, fingerprint: string): Promise<BlockParams | undefined> {
  let bytes: Uint8Array;
  try { bytes = new Uint8Array(await readFile(blockFile(dir, layer))); } catch { return undefined; }
  const st = parseSafetensors(bytes);
  if (st.metadata[FINGERPRINT_KEY] !== fingerprint) return undefined;
  const p: BlockParams = {};
  for (const name of st.names()) {
    const data = st.f32(name).slice();
    const shape = st.info(name).shape;
    const [kind, n] = name.split('.');
    if (kind === 'clipLo' || kind === 'clipHi') (p[kind] ??= {})[n as LinearName] = param(data, shape);
    else if (kind === 'affineMask') p.affineMask = data;
    else (p as Record<string, unknown>)[kind] = param(data, shape);
  }
  return p;
}

export async function clearCheckpoints(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * Per-engine scratch buffers reused by every quantized linear layer: activation codes, planes,
 * quantization parameters, integer accumulators, and a padded f32 copy for the A16 path.
 * Sized once for the largest layer and the largest token batch, so no forward pass allocates.
 */
import type { Arena } from './arena.ts';

/** Activation code rows are padded to this many elements (covers every container vector). */
export const CODE_ROW_ALIGN = 64;
/**
 * Tokens per table-lookup pass (the lut path builds per-token tables of 8 bytes per input feature,
 * so larger batches run in passes of this many tokens over the same weights).
 */
export const LUT_BATCH = 4;

export interface WorkspaceNeeds {
  maxM: number;
  /** Largest K (input features). */
  maxK: number;
  /** Largest padded N (output features rounded up to 4) times groups. */
  maxAccPerRow: number;
  /** Largest number of weight groups (and activation groups) per row. */
  maxGroups: number;
}

export interface Workspace {
  readonly needs: WorkspaceNeeds;
  codes: number;
  planes: number;
  scales: number;
  zeros: number;
  sums: number;
  acc: number;
  xPad: number;
  /** Table-lookup tables, LUT_BATCH rows of lutTableStrideFor(maxK) bytes. */
  luts: number;
}

export function codeStrideFor(k: number): number {
  return Math.ceil(k / CODE_ROW_ALIGN) * CODE_ROW_ALIGN;
}

/** Bytes of one token's lookup tables (2 tables of 16 bytes per 4 input features, K padded to 16). */
export function lutTableStrideFor(k: number): number {
  return Math.ceil(k / 16) * 128;
}

export function workspaceBytes(n: WorkspaceNeeds): number {
  const stride = codeStrideFor(n.maxK);
  const wd = Math.ceil(n.maxK / 32);
  return n.maxM * (stride + wd * 8 * 4 + n.maxGroups * 12 + n.maxAccPerRow * 4 + stride * 4) + LUT_BATCH * lutTableStrideFor(n.maxK) + 7 * 16;
}

export function allocWorkspace(arena: Arena, needs: WorkspaceNeeds): Workspace {
  const stride = codeStrideFor(needs.maxK);
  const wd = Math.ceil(needs.maxK / 32);
  const m = needs.maxM;
  return {
    needs,
    codes: arena.alloc(m * stride),
    planes: arena.alloc(m * wd * 8 * 4),
    scales: arena.alloc(m * needs.maxGroups * 4),
    zeros: arena.alloc(m * needs.maxGroups * 4),
    sums: arena.alloc(m * needs.maxGroups * 4),
    acc: arena.alloc(m * needs.maxAccPerRow * 4),
    xPad: arena.alloc(m * stride * 4),
    luts: arena.alloc(LUT_BATCH * lutTableStrideFor(needs.maxK)),
  };
}

export function checkWorkspace(ws: Workspace, m: number, k: number, accPerRow: number, groups: number): void {
  const n = ws.needs;
  if (m > n.maxM || k > n.maxK || accPerRow > n.maxAccPerRow || groups > n.maxGroups) {
    throw new RangeError(`workspace sized for M<=${n.maxM}, K<=${n.maxK}, acc<=${n.maxAccPerRow}, groups<=${n.maxGroups}; ` +
      `got M=${m}, K=${k}, acc=${accPerRow}, groups=${groups}: allocate it with the largest layer and batch`);
  }
}

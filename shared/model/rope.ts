/**
 * Rotary position embedding in Hugging Face's "rotate half" layout: within a head of width D, element
 * i (i < D/2) is rotated together with element i + D/2 by the angle pos * invFreq[i]. (llama2.c and
 * Meta's original code pair adjacent elements instead; HF checkpoints have their q/k rows permuted
 * to this layout, so using the other one here would silently wreck the model.)
 */
import type { LlamaConfig, RopeScaling } from './config.ts';

/**
 * Inverse frequencies invFreq[i] = theta^(-2i/D), i < D/2, with `rope_scaling` applied the way
 * transformers' `ROPE_INIT_FUNCTIONS` do it ('linear': all divided by factor; 'llama3': low
 * frequencies divided by factor, high ones kept, a smooth blend between).
 */
export function ropeInvFreq(headDim: number, theta: number, scaling?: RopeScaling): Float64Array {
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / theta ** ((2 * i) / headDim);
  if (!scaling) return inv;
  if (scaling.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] /= scaling.factor;
    return inv;
  }
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: oldLen } = scaling;
  const lowFreqWavelen = oldLen / lowFreqFactor;
  const highFreqWavelen = oldLen / highFreqFactor;
  for (let i = 0; i < half; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen > lowFreqWavelen) inv[i] /= factor;
    else if (wavelen >= highFreqWavelen) {
      const smooth = (oldLen / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      inv[i] = (1 - smooth) * (inv[i] / factor) + smooth * inv[i];
    }
  }
  return inv;
}

/** cos/sin of pos * invFreq for a run of positions: [n][D/2] each. Computed once per forward, shared by all layers. */
export interface RopeAngles {
  n: number;
  half: number;
  cos: Float32Array;
  sin: Float32Array;
}

export function ropeAngles(invFreq: Float64Array, positions: ArrayLike<number>): RopeAngles {
  const half = invFreq.length;
  const n = positions.length;
  const cos = new Float32Array(n * half);
  const sin = new Float32Array(n * half);
  for (let t = 0; t < n; t++) {
    const p = positions[t];
    for (let i = 0; i < half; i++) {
      const a = p * invFreq[i];
      cos[t * half + i] = Math.cos(a);
      sin[t * half + i] = Math.sin(a);
    }
  }
  return { n, half, cos, sin };
}

/** Convenience for callers holding a config. */
export function ropeInvFreqFor(config: LlamaConfig): Float64Array {
  return ropeInvFreq(config.headDim, config.ropeTheta, config.ropeScaling);
}

/**
 * Rotates x in place. Layout: x is [n][heads][D] row-major (the output of q_proj or k_proj for n
 * tokens); token t uses row t of `angles`.
 */
export function applyRope(x: Float32Array, n: number, heads: number, headDim: number, angles: RopeAngles): void {
  const half = headDim / 2;
  if (angles.half !== half || angles.n < n) throw new Error(`applyRope: angles are for ${angles.n} tokens x ${angles.half * 2} dims, need ${n} x ${headDim}`);
  for (let t = 0; t < n; t++) {
    const a = t * half;
    for (let h = 0; h < heads; h++) {
      const base = (t * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = angles.cos[a + i];
        const s = angles.sin[a + i];
        const x0 = x[base + i];
        const x1 = x[base + half + i];
        x[base + i] = x0 * c - x1 * s;
        x[base + half + i] = x1 * c + x0 * s;
      }
    }
  }
}

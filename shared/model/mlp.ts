/**
 * The SwiGLU feed-forward of LLaMA: down(silu(gate(x)) * up(x)).
 */
import type { Linear } from './linear.ts';

export function silu(v: number): number {
  return v / (1 + Math.exp(-v));
}

/** Elementwise silu(gate) * up, written into `gate` (both [n][intermediate]); returns `gate`. */
export function swiglu(gate: Float32Array, up: Float32Array): Float32Array {
  if (gate.length !== up.length) throw new Error(`swiglu: gate has ${gate.length} elements, up ${up.length}`);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i];
    gate[i] = (g / (1 + Math.exp(-g))) * up[i];
  }
  return gate;
}

/** Hook called with the input of each linear layer, e.g. to collect calibration statistics. */
export type LinearInputHook = (name: 'gate' | 'up' | 'down', x: Float32Array, m: number) => void;

/** x: [n][hidden] (already normed) -> [n][hidden]. */
export function mlpForward(x: Float32Array, n: number, gate: Linear, up: Linear, down: Linear, onInput?: LinearInputHook): Float32Array {
  onInput?.('gate', x, n);
  onInput?.('up', x, n);
  const h = swiglu(gate.forward(x, n), up.forward(x, n));
  onInput?.('down', h, n);
  return down.forward(h, n);
}

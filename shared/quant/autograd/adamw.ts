/**
 * AdamW (Loshchilov & Hutter, 2019): Adam moments with decoupled weight decay, as torch.optim.AdamW.
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + lr * wd * p
 * Each parameter group can have its own learning rate and decay (OmniQuant uses separate rates for
 * LWC and LET parameters).
 */
import type { Tensor } from './tensor.ts';

export interface ParamGroup { params: Tensor[]; lr: number; weightDecay: number }

export class AdamW {
  private step = 0;
  private readonly m = new Map<Tensor, Float32Array>();
  private readonly v = new Map<Tensor, Float32Array>();

  constructor(private readonly groups: ParamGroup[], private readonly beta1 = 0.9, private readonly beta2 = 0.999, private readonly eps = 1e-8) {}

  zeroGrad(): void {
    for (const g of this.groups) for (const p of g.params) p.zeroGrad();
  }

  /** True when every gradient is finite (callers skip the step and fall back otherwise). */
  gradsFinite(): boolean {
    for (const g of this.groups) for (const p of g.params) {
      const gr = p.grad;
      if (gr) for (let i = 0; i < gr.length; i++) if (!Number.isFinite(gr[i])) return false;
    }
    return true;
  }

  update(): void {
    this.step++;
    const c1 = 1 - this.beta1 ** this.step;
    const c2 = 1 - this.beta2 ** this.step;
    for (const group of this.groups) {
      for (const p of group.params) {
        const g = p.grad;
        if (!g) continue;
        let m = this.m.get(p), v = this.v.get(p);
        if (!m || !v) { m = new Float32Array(p.size); v = new Float32Array(p.size); this.m.set(p, m); this.v.set(p, v); }
        for (let i = 0; i < p.size; i++) {
          m[i] = this.beta1 * m[i] + (1 - this.beta1) * g[i];
          v[i] = this.beta2 * v[i] + (1 - this.beta2) * g[i] * g[i];
          p.data[i] -= group.lr * ((m[i] / c1) / (Math.sqrt(v[i] / c2) + this.eps) + group.weightDecay * p.data[i]);
        }
      }
    }
  }
}

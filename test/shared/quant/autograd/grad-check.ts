/** Finite-difference gradient checking for the autograd ops (central differences in f32 data). */
import { backward, type Tensor } from '../../../../shared/quant/autograd/tensor.ts';

export interface GradCheckResult { maxRelError: number; checked: number }

/**
 * Compares d loss / d p for every parameter against (f(p + h) - f(p - h)) / 2h on up to `samples`
 * coordinates per parameter. The relative error is |a - n| / max(1e-3, |a| + |n|).
 */
export function gradCheck(params: Tensor[], lossFn: () => Tensor, h = 1e-2, samples = 24): GradCheckResult {
  for (const p of params) p.zeroGrad();
  backward(lossFn());
  let maxRel = 0, checked = 0;
  for (const p of params) {
    const analytic = Float32Array.from(p.grad ?? new Float32Array(p.size));
    const step = Math.max(1, Math.floor(p.size / samples));
    for (let i = 0; i < p.size; i += step) {
      const orig = p.data[i];
      p.data[i] = orig + h;
      const up = lossFn().data[0];
      p.data[i] = orig - h;
      const down = lossFn().data[0];
      p.data[i] = orig;
      const numeric = (up - down) / (2 * h);
      const rel = Math.abs(analytic[i] - numeric) / Math.max(1e-3, Math.abs(analytic[i]) + Math.abs(numeric));
      maxRel = Math.max(maxRel, rel);
      checked++;
    }
  }
  return { maxRelError: maxRel, checked };
}

/**
 * Cross-entropy of one next-token prediction: -log softmax(logits)[target], computed as
 * logsumexp(logits) - logits[target] with the max subtracted first and the sum in f64, so large
 * logits cannot overflow and 32k-term sums keep their precision.
 */
export function tokenNll(logits: Float32Array, rowOffset: number, vocab: number, target: number): number {
  if (!Number.isInteger(target) || target < 0 || target >= vocab) {
    throw new RangeError(`target token ${target} is outside the model's vocabulary 0..${vocab - 1}`);
  }
  let max = -Infinity;
  for (let i = rowOffset; i < rowOffset + vocab; i++) if (logits[i] > max) max = logits[i];
  if (!Number.isFinite(max)) throw new Error(`logits row at offset ${rowOffset} has no finite maximum (${max}): the model produced NaN or infinity`);
  let sum = 0;
  for (let i = rowOffset; i < rowOffset + vocab; i++) sum += Math.exp(logits[i] - max);
  return max + Math.log(sum) - logits[rowOffset + target];
}

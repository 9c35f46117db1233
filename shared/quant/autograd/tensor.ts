/**
 * A minimal reverse-mode autograd over Float32Array, sized for calibrating one transformer block
 * at a time. Hand-written because no well-kept JS library fits: TensorFlow.js is large, needs its own
 * runtime and rounds differently from the f32 numerics contract, and the block needs only ~15 ops.
 *
 * A Tensor holds row-major data, a shape, and (when it depends on a parameter) a backward closure
 * that adds its output gradient into its parents' gradients. `backward(loss)` walks the graph in
 * reverse topological order. Ops whose inputs need no gradient record nothing, so a forward pass
 * over frozen weights costs no more than plain arithmetic.
 */
export class Tensor {
  grad: Float32Array | null = null;
  /** Set by ops: propagates this.grad into the parents. */
  backwardFn: (() => void) | null = null;
  parents: Tensor[] = [];

  constructor(
    readonly data: Float32Array,
    readonly shape: readonly number[],
    readonly requiresGrad = false,
  ) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new RangeError(`tensor data has ${data.length} values, shape [${shape.join(', ')}] needs ${size}`);
  }

  get size(): number {
    return this.data.length;
  }

  /** Gradient buffer, created on first use. */
  ensureGrad(): Float32Array {
    this.grad ??= new Float32Array(this.data.length);
    return this.grad;
  }

  zeroGrad(): void {
    this.grad?.fill(0);
  }
}

/** A constant (no gradient). */
export function constant(data: Float32Array, shape: readonly number[]): Tensor {
  return new Tensor(data, shape, false);
}

/** A learnable parameter. */
export function param(data: Float32Array, shape: readonly number[]): Tensor {
  return new Tensor(data, shape, true);
}

/**
 * Creates an op's output. `backward` is only attached when some input requires a gradient; it may
 * read `out.grad` and must add (never assign) into each parent's gradient.
 */
export function result(data: Float32Array, shape: readonly number[], inputs: Tensor[], backward: (out: Tensor) => void): Tensor {
  const needs = inputs.some((t) => t.requiresGrad);
  const out = new Tensor(data, shape, needs);
  if (needs) {
    out.parents = inputs.filter((t) => t.requiresGrad);
    out.backwardFn = () => backward(out);
  }
  return out;
}

/** Reverse-mode sweep from a scalar loss; gradients accumulate into every reachable tensor. */
export function backward(loss: Tensor): void {
  if (loss.size !== 1) throw new RangeError(`backward() needs a scalar loss, got shape [${loss.shape.join(', ')}]`);
  if (!loss.requiresGrad) return;
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS (post-order) so deep graphs cannot overflow the JS stack.
  const stack: [Tensor, number][] = [[loss, 0]];
  seen.add(loss);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    if (i < t.parents.length) {
      top[1]++;
      const p = t.parents[i];
      if (!seen.has(p)) {
        seen.add(p);
        stack.push([p, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  loss.ensureGrad()[0] = 1;
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    if (t.backwardFn && t.grad) t.backwardFn();
  }
}

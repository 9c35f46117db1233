/**
 * @module shared/eval
 * Perplexity evaluation (runtime-free). Model loading from folders is in ./node.ts.
 */
export * from './logits-model.ts';
export * from './token-nll.ts';
export * from './eval-text.ts';
export * from './eval-plan.ts';
export * from './prepare-eval.ts';
export * from './perplexity.ts';

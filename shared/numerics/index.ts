export * from './act-quant.ts';
export * from './weight-quant.ts';
export * from './bitgemm-ref.ts';
export * from './packed-linear-ref.ts';

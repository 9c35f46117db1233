/** @module shared/quant: the quantizer (methods, calibration, folding, packing). Re-exports only. */
export * from './errors.ts';
export * from './quant-config.ts';
export * from './methods.ts';
export * from './fake-quant.ts';
export * from './block.ts';
export * from './params.ts';
export * from './calibrate-block.ts';
export * from './fold.ts';
export * from './quant-linear.ts';
export * from './calibration-data.ts';
export * from './pipeline.ts';
export * from './flexq.ts';
export * from './samples-loss.ts';
export * from './build-model.ts';
export * from './dry-run.ts';
export * from './resume.ts';

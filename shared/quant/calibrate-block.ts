/**
 * Block-wise calibration (OmniQuant's loop, shared by every calibrated method): the block's
 * learnable parameters are optimised with AdamW so that the quantized block, fed the outputs of the
 * already-quantized previous blocks, reproduces the full-precision block's output on the
 * full-precision inputs. One step per calibration sample, `epochs` passes over the samples.
 *
 * Loss: MSE(y_q, y_fp), plus for ABQ's distribution correction
 *   KL_WEIGHT * symKL(P_fp, P_q) over attention rows + COS_WEIGHT * mean(1 - cos(y_q, y_fp)).
 * A non-finite loss or gradient stops the block and restores the parameters of the last finished
 * epoch (or the initial ones), which the result reports.
 */
import { AdamW, backward, constant, mse, symmetricKl, cosineLoss, weightedSum, type RopeTable, type Tensor } from './autograd/index.ts';
import { blockForward, quantizeBlockWeights, transformBlock, type BlockDims, type BlockFp, type BlockParams, type BlockSpecs } from './block.ts';
import { bandMask, cloneParams, paramGroups, restoreParams } from './params.ts';
import type { MethodTraits } from './methods.ts';

export const KL_WEIGHT = 1;
export const COS_WEIGHT = 1;

export interface BlockCalibData {
  /** Quantized-path inputs per sample, [T * d]. */
  inputs: Float32Array[];
  /** Full-precision block outputs per sample (on full-precision inputs). */
  targets: Float32Array[];
  /** Full-precision attention maps per sample (only for the distribution loss). */
  targetProbs?: Float32Array[];
}

export interface CalibrateOptions {
  traits: MethodTraits;
  epochs: number;
  /** Called after each epoch with the mean loss (progress bars). */
  onEpoch?: (epoch: number, loss: number) => void;
}

export interface CalibrateResult {
  initialLoss: number;
  finalLoss: number;
  /** Why calibration stopped early (non-finite values), or undefined. */
  fellBack?: string;
}

function blockLoss(y: Tensor, probs: Tensor, data: BlockCalibData, i: number, traits: MethodTraits, seq: number, d: number): Tensor {
  const m = mse(y, data.targets[i]);
  if (!traits.distributionLoss || !data.targetProbs) return m;
  return weightedSum([
    { loss: m, weight: 1 },
    { loss: symmetricKl(probs, data.targetProbs[i], seq), weight: KL_WEIGHT },
    { loss: cosineLoss(y, data.targets[i], d), weight: COS_WEIGHT },
  ]);
}

export function calibrateBlock(
  fp: BlockFp, dims: BlockDims, specs: BlockSpecs, table: RopeTable, params: BlockParams, data: BlockCalibData, opts: CalibrateOptions,
): CalibrateResult {
  const groups = paramGroups(params);
  const opt = new AdamW([
    { params: groups.lwc, lr: opts.traits.lwcLr, weightDecay: 0 },
    { params: groups.let, lr: opts.traits.letLr, weightDecay: 0 },
  ]);
  const seq = table.t;
  let good = cloneParams(params);
  const evalLoss = (): number => {
    const frozen = cloneParams(params);
    const tb = transformBlock(fp, dims, frozen);
    const w = quantizeBlockWeights(tb, specs, frozen);
    let s = 0;
    data.inputs.forEach((x, i) => {
      const { y, probs } = blockForward(constant(x, [seq, dims.d]), tb, w, dims, table, specs);
      s += blockLoss(y, probs, data, i, opts.traits, seq, dims.d).data[0];
    });
    return s / data.inputs.length;
  };
  const initialLoss = evalLoss();
  let fellBack: string | undefined;
  const headDim = dims.headDim;
  outer: for (let epoch = 0; epoch < opts.epochs; epoch++) {
    if (params.affineMask) {
      // Gradual mask: the diagonal in the first epoch, one more band each side per later epoch.
      const band = Math.min(headDim - 1, Math.floor((epoch * (headDim - 1)) / Math.max(1, opts.epochs - 1)));
      params.affineMask.set(bandMask(dims.kvHeads, headDim, band));
    }
    let sum = 0;
    for (let i = 0; i < data.inputs.length; i++) {
      let loss: Tensor;
      try {
        const tb = transformBlock(fp, dims, params);
        const w = quantizeBlockWeights(tb, specs, params);
        const { y, probs } = blockForward(constant(data.inputs[i], [seq, dims.d]), tb, w, dims, table, specs);
        loss = blockLoss(y, probs, data, i, opts.traits, seq, dims.d);
      } catch (e) {
        fellBack = `epoch ${epoch + 1}, sample ${i}: ${(e as Error).message}`;
        break outer;
      }
      if (!Number.isFinite(loss.data[0])) { fellBack = `epoch ${epoch + 1}, sample ${i}: loss is ${loss.data[0]}`; break outer; }
      opt.zeroGrad();
      backward(loss);
      if (!opt.gradsFinite()) { fellBack = `epoch ${epoch + 1}, sample ${i}: non-finite gradient`; break outer; }
      opt.update();
      sum += loss.data[0];
    }
    good = cloneParams(params);
    opts.onEpoch?.(epoch, sum / data.inputs.length);
  }
  if (fellBack) restoreParams(params, good);
  return { initialLoss, finalLoss: evalLoss(), fellBack };
}

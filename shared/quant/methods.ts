/**
 * The `--method` registry: one row per method, read by the calibration loop (never a switch on the
 * method name elsewhere). docs/QUANTIZATION.md describes each row with its formulas and paper.
 */
import { QuantError } from './errors.ts';

export interface MethodTraits {
  name: string;
  summary: string;
  paper: string;
  /** Block-wise optimisation against the full-precision block output. */
  calibrated: boolean;
  /** Learnable weight clipping (sigmoid-parametrised clip factors per group). */
  lwc: boolean;
  /** Learnable equivalent transformation: per-channel scales (and the v->o shift when activations are quantized). */
  let: boolean;
  /** v->o transformation as a learnable invertible block matrix with the gradual mask (AffineQuant). */
  affine: boolean;
  /** ABQ-LLM distribution correction: symmetric KL on attention maps and a cosine term in the block loss. */
  distributionLoss: boolean;
  /** ABQ-LLM low-rank compensation on down_proj of the first and last blocks. */
  lowRank: boolean;
  /** FlexQ: per-layer A8 chosen by a sensitivity analysis. */
  sensitivity: boolean;
  /** Default epochs over the calibration samples per block. */
  epochs: number;
  lwcLr: number;
  letLr: number;
}

const BASE = { calibrated: true, lwc: true, let: true, affine: false, distributionLoss: false, lowRank: false, sensitivity: false, epochs: 10, lwcLr: 5e-3, letLr: 5e-3 };

export const METHODS: readonly MethodTraits[] = [
  { ...BASE, name: 'rtn', summary: 'round to nearest, min/max grid per channel or group', paper: '-', calibrated: false, lwc: false, let: false, epochs: 0 },
  { ...BASE, name: 'omniquant', summary: 'LWC + LET, block-wise AdamW', paper: 'Shao et al., OmniQuant, ICLR 2024 (arXiv:2308.13137)' },
  { ...BASE, name: 'affinequant', summary: 'OmniQuant with a learnable invertible v->o matrix (gradual mask)', paper: 'Ma et al., AffineQuant, ICLR 2024 (arXiv:2403.12544)', affine: true },
  { ...BASE, name: 'abq', summary: 'OmniQuant-style calibration + distribution correction (KL on attention, cosine) + low-rank down_proj compensation; W2* bit balance', paper: 'Zeng et al., ABQ-LLM, AAAI 2025 (arXiv:2408.08554)', distributionLoss: true, lowRank: true },
  { ...BASE, name: 'flexq', summary: 'W6A6 per-group weights, A8 kept on the most sensitive layers', paper: 'FlexQ, 2025 (arXiv:2508.04405)', calibrated: false, lwc: false, let: false, sensitivity: true, epochs: 0 },
];

export const METHOD_NAMES = METHODS.map((m) => m.name);

export function methodTraits(name: string): MethodTraits {
  const m = METHODS.find((x) => x.name === name);
  if (!m) throw new QuantError(`unknown method '${name}'; choose one of ${METHOD_NAMES.join(', ')}`);
  return m;
}

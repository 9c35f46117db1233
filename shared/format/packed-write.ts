/**
 * Writes a packed model folder (Node only), streaming: the quantizer declares every tensor up front,
 * then hands over one layer at a time and never holds the whole model.
 *
 *   const w = await PackedModelWriter.create(dir, { layers, floats, source, config, extraFiles });
 *   for each layer: await w.addLayer(spec.name, packedWeights)   // any order
 *   for each float: await w.addTensor(name, f32data)
 *   await w.finish()
 *
 * Atomicity: everything is written into `.<name>.abq-partial-<pid>-<random>` beside the target and
 * renamed into place by finish(). An existing target is moved aside and deleted only once the new
 * folder is complete. Any error (and abort()) removes the partial folder; a killed process leaves
 * only the partial folder, which the next write to the same target removes (its pid is dead).
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { AbqFormatError } from './errors.ts';
import { decodeF16Table, encodeF16, f32ToBf16Bits, f32ToF16Bits } from './f16.ts';
import type { PackedWeights } from '../numerics/packed-linear-ref.ts';
import { validateLayerSpecs, type PackedLayerSpec } from './layer-spec.ts';
import { buildPackedMetadata, CHECKSUM_PLACEHOLDER, type PackedSource } from './metadata.ts';
import { buildQuantizationConfig } from './quant-config.ts';
import { checkPackedLayerData, layerTensorSpecs, FLOAT_DTYPES, BIAS_SUFFIX, QWEIGHT_SUFFIX, SCALES_SUFFIX, ZEROS_SUFFIX } from './packed-check.ts';
import { planSafetensorsLayout, type TensorSpec } from './safetensors-layout.ts';
import { SafetensorsStreamWriter, syncDirectory } from './safetensors-write.ts';
import { CONFIG_FILE, PACKED_WEIGHTS_FILE } from './packed-dir.ts';
import type { TensorInfo } from './safetensors-header.ts';
import { moveIntoPlace, removeStaleSiblings, siblingPath, writeSynced, PARTIAL_TAG } from './atomic-dir.ts';

/** Float tensors are converted in chunks of this many elements, to bound the extra memory. */
const CONVERT_CHUNK_ELEMENTS = 1 << 20;

export interface FloatTensorSpec {
  name: string;
  /** Stored dtype; data given as f32 is converted (round to nearest even). */
  dtype: 'F32' | 'F16' | 'BF16';
  shape: number[];
}

export interface ExtraFile {
  /** File name inside the model folder (no directories), e.g. "tokenizer.json". */
  name: string;
  /** Copy from this path ... */
  from?: string;
  /** ... or write these contents. */
  data?: string | Uint8Array;
}

export interface PackedModelPlan {
  layers: PackedLayerSpec[];
  floats: FloatTensorSpec[];
  source: PackedSource;
  /** The HF config.json object; the writer sets its quantization_config. */
  config: Record<string, unknown>;
  extraFiles?: ExtraFile[];
  /** Extra __metadata__ entries (not the reserved format/abq.* keys). */
  extraMetadata?: Record<string, string>;
}

export class PackedModelWriter {
  private readonly specs: Map<string, PackedLayerSpec>;
  private readonly floats: Map<string, FloatTensorSpec>;
  private done = false;

  private constructor(
    readonly dir: string,
    readonly partialDir: string,
    private readonly plan: PackedModelPlan,
    private readonly st: SafetensorsStreamWriter,
  ) {
    this.specs = new Map(plan.layers.map((s) => [s.name, s]));
    this.floats = new Map(plan.floats.map((f) => [f.name, f]));
  }

  /** Validates the plan, clears stale partial folders of dead writers, and writes the header. */
  static async create(dir: string, plan: PackedModelPlan): Promise<PackedModelWriter> {
    const layers = validateLayerSpecs(JSON.parse(JSON.stringify(plan.layers)));
    for (const f of plan.floats) {
      if (!FLOAT_DTYPES.includes(f.dtype)) throw new AbqFormatError('WRONG_DTYPE', `float tensors are stored as ${FLOAT_DTYPES.join('/')}, not ${f.dtype}`, f.name);
    }
    for (const e of plan.extraFiles ?? []) {
      if (e.name !== path.basename(e.name) || e.name === PACKED_WEIGHTS_FILE || e.name === CONFIG_FILE || (e.from === undefined) === (e.data === undefined)) {
        throw new Error(`extra file "${e.name}": give a plain file name (not ${PACKED_WEIGHTS_FILE} or ${CONFIG_FILE}) and exactly one of from/data`);
      }
    }
    const specs: TensorSpec[] = [...layers.flatMap(layerTensorSpecs), ...plan.floats];
    const checksums = Object.fromEntries(specs.map((s) => [s.name, CHECKSUM_PLACEHOLDER]));
    const metadata = buildPackedMetadata(layers, plan.source, checksums, plan.extraMetadata);
    planSafetensorsLayout(specs, metadata); // validate names/shapes before touching the disk
    const target = path.resolve(dir);
    await mkdir(path.dirname(target), { recursive: true });
    await removeStaleSiblings(target);
    const partialDir = siblingPath(target, PARTIAL_TAG);
    await mkdir(partialDir);
    try {
      const st = await SafetensorsStreamWriter.create(path.join(partialDir, PACKED_WEIGHTS_FILE), specs, metadata, { sha256: true });
      return new PackedModelWriter(target, partialDir, { ...plan, layers }, st);
    } catch (e) {
      await rm(partialDir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Tensors in file order. */
  get order(): readonly TensorInfo[] {
    return this.st.order;
  }

  /** Checks one quantized layer against its spec (shapes, zeros, codes, padding, F16 scales) and writes it. */
  async addLayer(name: string, weights: PackedWeights): Promise<void> {
    await this.guard(async () => {
      const spec = this.specs.get(name);
      if (!spec) throw new AbqFormatError('UNDESCRIBED_TENSOR', 'addLayer() for a layer that is not in plan.layers', name);
      checkWeightsMatchSpec(spec, weights);
      checkPackedLayerData(spec, weights.planes, weights.zeros);
      await this.st.write(name + QWEIGHT_SUFFIX, weights.planes);
      await this.st.write(name + SCALES_SUFFIX, scalesToF16(name, weights.scales));
      await this.st.write(name + ZEROS_SUFFIX, weights.zeros);
      if (spec.hasBias) await this.st.write(name + BIAS_SUFFIX, weights.bias!);
    });
  }

  /** Writes a float tensor: f32 values (converted to the declared dtype), or raw F16/BF16 bits as a Uint16Array. */
  async addTensor(name: string, data: Float32Array | Uint16Array): Promise<void> {
    await this.guard(async () => {
      const spec = this.floats.get(name);
      if (!spec) throw new AbqFormatError('UNDESCRIBED_TENSOR', 'addTensor() for a tensor that is not in plan.floats', name);
      const count = spec.shape.reduce((a, b) => a * b, 1);
      if (data.length !== count) throw new AbqFormatError('SIZE_MISMATCH', `has ${data.length} elements, expected [${spec.shape.join(', ')}] = ${count}`, name);
      if (data instanceof Uint16Array) {
        if (spec.dtype === 'F32') throw new AbqFormatError('WRONG_DTYPE', 'raw 16-bit data given for an F32 tensor; pass a Float32Array', name);
        return this.st.write(name, data);
      }
      if (spec.dtype === 'F32') return this.st.write(name, data);
      const convert = spec.dtype === 'F16' ? f32ToF16Bits : f32ToBf16Bits;
      for (let i = 0; i < data.length; i += CONVERT_CHUNK_ELEMENTS) {
        const part = data.subarray(i, i + CONVERT_CHUNK_ELEMENTS);
        const bits = new Uint16Array(part.length);
        for (let j = 0; j < part.length; j++) bits[j] = convert(part[j]);
        await this.st.write(name, bits);
      }
    });
  }

  /** Completes the file (checksums filled in), writes config.json and extra files, and moves the folder into place. */
  async finish(): Promise<void> {
    await this.guard(async () => {
      const layers = this.plan.layers;
      const specs = [...layers.flatMap(layerTensorSpecs), ...this.plan.floats];
      for (const s of specs) {
        if (!this.st.isComplete(s.name)) throw new AbqFormatError('MISSING_TENSOR', 'declared in the plan but never (fully) written', s.name);
      }
      const checksums = Object.fromEntries(this.st.order.map((t) => [t.name, this.st.sha256Hex(t.name)]));
      await this.st.finish(buildPackedMetadata(layers, this.plan.source, checksums, this.plan.extraMetadata));
      const config = { ...this.plan.config, quantization_config: buildQuantizationConfig(layers) };
      await writeSynced(path.join(this.partialDir, CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
      for (const e of this.plan.extraFiles ?? []) {
        const to = path.join(this.partialDir, e.name);
        if (e.from !== undefined) await copyFile(e.from, to);
        else await writeSynced(to, e.data!);
      }
      await syncDirectory(this.partialDir);
      await moveIntoPlace(this.partialDir, this.dir);
      this.done = true;
    });
  }

  /** Removes the partial folder; the target is untouched. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.st.abort().catch(() => undefined);
    await rm(this.partialDir, { recursive: true, force: true });
  }

  private async guard(step: () => Promise<void>): Promise<void> {
    if (this.done) throw new Error(`PackedModelWriter for ${this.dir} is already finished or aborted`);
    try {
      await step();
    } catch (e) {
      await this.abort();
      throw e;
    }
  }
}

export interface PackedModelData extends Omit<PackedModelPlan, 'layers' | 'floats'> {
  layers: { spec: PackedLayerSpec; weights: PackedWeights }[];
  floats: (FloatTensorSpec & { data: Float32Array | Uint16Array })[];
}

/** Writes a whole packed model held in memory (convenience over PackedModelWriter). */
export async function writePackedModel(dir: string, model: PackedModelData): Promise<void> {
  const w = await PackedModelWriter.create(dir, {
    ...model,
    layers: model.layers.map((l) => l.spec),
    floats: model.floats.map(({ name, dtype, shape }) => ({ name, dtype, shape })),
  });
  for (const l of model.layers) await w.addLayer(l.spec.name, l.weights);
  for (const f of model.floats) await w.addTensor(f.name, f.data);
  await w.finish();
}

function checkWeightsMatchSpec(spec: PackedLayerSpec, w: PackedWeights): void {
  const want = { n: spec.outFeatures, k: spec.inFeatures, bits: spec.wbits, groupSize: spec.groupSize };
  const got = { n: w.n, k: w.k, bits: w.bits, groupSize: w.groupSize };
  if (JSON.stringify(want) !== JSON.stringify(got)) {
    throw new AbqFormatError('INVALID_LAYER_SPEC', `weights are ${JSON.stringify(got)} but the spec says ${JSON.stringify(want)}`, spec.name);
  }
  if (spec.hasBias !== (w.bias !== undefined)) {
    throw new AbqFormatError('BIAS_MISMATCH', `spec says hasBias: ${spec.hasBias} but the weights ${w.bias ? 'have' : 'have no'} bias`, spec.name + BIAS_SUFFIX);
  }
  // Lengths are checked again by the stream writer; checking here gives the layer's own message.
  for (const t of layerTensorSpecs(spec)) {
    const arr = t.name.endsWith(QWEIGHT_SUFFIX) ? w.planes : t.name.endsWith(SCALES_SUFFIX) ? w.scales : t.name.endsWith(ZEROS_SUFFIX) ? w.zeros : w.bias!;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (arr.length !== count) throw new AbqFormatError('SIZE_MISMATCH', `has ${arr.length} elements, expected [${t.shape.join(', ')}] = ${count}`, t.name);
  }
}

/** Encodes scales to F16, refusing values that F16 cannot hold exactly (the codes were computed against the rounded scale). */
function scalesToF16(name: string, scales: Float32Array): Uint16Array {
  const bits = encodeF16(scales);
  const back = decodeF16Table(bits);
  for (let i = 0; i < scales.length; i++) {
    if (back[i] !== scales[i]) {
      throw new RangeError(`${name}.scales[${i}] = ${scales[i]} is not an F16 value; round scales with roundToF16 before computing codes`);
    }
  }
  return bits;
}

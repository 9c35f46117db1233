/**
 * Reads a packed model held in memory (runtime-free: Node, browsers, workerd): the safetensors bytes
 * and, optionally, config.json. Returns each quantized linear as {spec, weights: PackedWeights} and the
 * float tensors by name. Directory reading (Node) is in packed-dir.ts.
 *
 * @example
 *   const model = await readPackedModelFromBuffers({ safetensorsBytes, configJson }, { verify: true });
 *   const down = model.layers.get('model.layers.0.mlp.down_proj')!;
 *   const linear = new PackedLinearRef(down.weights, { bits: down.spec.abits, groupSize: down.spec.actGroupSize });
 */
import { AbqFormatError } from './errors.ts';
import { decodeF16Table } from './f16.ts';
import type { PackedWeights } from '../numerics/packed-linear-ref.ts';
import type { PackedLayerSpec } from './layer-spec.ts';
import { parsePackedMetadata, type PackedMetadata } from './metadata.ts';
import { checkQuantizationConfig, readQuantizationConfig, type QuantizationConfig } from './quant-config.ts';
import { checkPackedLayerData, checkPackedTensorTable, BIAS_SUFFIX, QWEIGHT_SUFFIX, SCALES_SUFFIX, ZEROS_SUFFIX } from './packed-check.ts';
import { parseSafetensors, toF32, typedView, type TensorInfo } from './safetensors-read.ts';
import { verifyTensorChecksum } from './checksum.ts';
import { parseJsonStrict } from './json-strict.ts';

export interface PackedLayer {
  spec: PackedLayerSpec;
  weights: PackedWeights;
}

export interface PackedModelBuffers {
  /** The whole model.safetensors. */
  safetensorsBytes: Uint8Array;
  /** config.json as text, bytes or an already parsed object; when given, its quantization_config is checked. */
  configJson?: string | Uint8Array | Record<string, unknown>;
}

export interface ReadPackedOptions {
  /** Check every tensor against abq.checksums (sha256 over all bytes: slower). Default false. */
  verify?: boolean;
}

/** Source of tensor bytes: a parsed buffer or bytes already read from a file. */
export type TensorBytesSource = (name: string) => Uint8Array;

/** A packed model with all layers decoded; float tensors are decoded to f32 on request. */
export class PackedModel {
  constructor(
    readonly metadata: PackedMetadata,
    /** config.json (undefined when reading buffers without one). */
    readonly config: Record<string, unknown> | undefined,
    readonly quantizationConfig: QuantizationConfig | undefined,
    /** Quantized linears, in abq.layers order. */
    readonly layers: ReadonlyMap<string, PackedLayer>,
    private readonly floatInfos: ReadonlyMap<string, TensorInfo>,
    private readonly bytesOf: TensorBytesSource,
  ) {}

  floatNames(): string[] {
    return [...this.floatInfos.keys()];
  }

  hasFloat(name: string): boolean {
    return this.floatInfos.has(name);
  }

  floatInfo(name: string): TensorInfo {
    const info = this.floatInfos.get(name);
    if (!info) throw new AbqFormatError('MISSING_TENSOR', 'is not a float tensor of this packed model', name);
    return info;
  }

  /** The tensor as f32 (a view for aligned F32, else decoded). */
  float(name: string): Float32Array {
    return toF32(this.floatInfo(name), this.bytesOf(name));
  }

  /** Raw little-endian bytes of a float tensor in its stored dtype. */
  floatBytes(name: string): Uint8Array {
    this.floatInfo(name);
    return this.bytesOf(name);
  }
}

/** Parses, validates and (with verify) checksums a packed model held in memory. */
export async function readPackedModelFromBuffers(input: PackedModelBuffers, options: ReadPackedOptions = {}): Promise<PackedModel> {
  const st = parseSafetensors(input.safetensorsBytes);
  const infos = new Map(st.names().map((n) => [n, st.info(n)]));
  const header = checkPackedHeader(st.metadata, infos, input.configJson);
  if (options.verify) {
    for (const name of st.names()) await verifyTensorChecksum(name, st.bytes(name), header.metadata.checksums[name]);
  }
  return assemblePackedModel(header, (name) => st.bytes(name));
}

export interface CheckedPackedHeader {
  metadata: PackedMetadata;
  config?: Record<string, unknown>;
  quantizationConfig?: QuantizationConfig;
  floatNames: string[];
  infos: ReadonlyMap<string, TensorInfo>;
}

/** Header-level checks of a packed file: metadata, layer specs, tensor table, config.json agreement. */
export function checkPackedHeader(
  rawMetadata: Record<string, string>,
  infos: ReadonlyMap<string, TensorInfo>,
  configJson?: string | Uint8Array | Record<string, unknown>,
): CheckedPackedHeader {
  const metadata = parsePackedMetadata(rawMetadata, [...infos.keys()]);
  const floatNames = checkPackedTensorTable(metadata.layers, infos);
  let config: Record<string, unknown> | undefined;
  let quantizationConfig: QuantizationConfig | undefined;
  if (configJson !== undefined) {
    config = parseConfigJson(configJson);
    quantizationConfig = readQuantizationConfig(config.quantization_config);
    checkQuantizationConfig(quantizationConfig, metadata.layers);
  }
  return { metadata, config, quantizationConfig, floatNames, infos };
}

/** Decodes every layer from tensor bytes (running the data checks) and wraps the result. */
export function assemblePackedModel(header: CheckedPackedHeader, bytesOf: TensorBytesSource): PackedModel {
  const layers = new Map<string, PackedLayer>();
  for (const spec of header.metadata.layers) layers.set(spec.name, decodePackedLayer(spec, bytesOf, header.infos));
  const floats = new Map(header.floatNames.map((n) => [n, header.infos.get(n)!]));
  return new PackedModel(header.metadata, header.config, header.quantizationConfig, layers, floats, bytesOf);
}

/** One layer's PackedWeights from its tensors' bytes (tables already checked), after the data checks. */
export function decodePackedLayer(spec: PackedLayerSpec, bytesOf: TensorBytesSource, infos: ReadonlyMap<string, TensorInfo>): PackedLayer {
  const view = (suffix: string) => typedView(infos.get(spec.name + suffix)!, bytesOf(spec.name + suffix));
  const planes = view(QWEIGHT_SUFFIX) as Uint32Array;
  const zeros = bytesOf(spec.name + ZEROS_SUFFIX);
  checkPackedLayerData(spec, planes, zeros);
  const weights: PackedWeights = {
    n: spec.outFeatures,
    k: spec.inFeatures,
    bits: spec.wbits,
    groupSize: spec.groupSize,
    planes,
    scales: decodeF16Table(view(SCALES_SUFFIX) as Uint16Array),
    zeros,
  };
  if (spec.hasBias) weights.bias = toF32(infos.get(spec.name + BIAS_SUFFIX)!, bytesOf(spec.name + BIAS_SUFFIX));
  return { spec, weights };
}

function parseConfigJson(configJson: string | Uint8Array | Record<string, unknown>): Record<string, unknown> {
  let value: unknown = configJson;
  if (typeof configJson === 'string' || configJson instanceof Uint8Array) {
    let text: string;
    try {
      text = typeof configJson === 'string' ? configJson : new TextDecoder('utf-8', { fatal: true }).decode(configJson);
    } catch {
      throw new AbqFormatError('INVALID_QUANT_CONFIG', 'config.json is not valid UTF-8');
    }
    value = parseJsonStrict(text, 'config.json', 'INVALID_QUANT_CONFIG');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AbqFormatError('INVALID_QUANT_CONFIG', 'config.json must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/**
 * The `__metadata__` keys of a packed (abq) safetensors file: build them when writing, parse and check
 * them when reading. Runtime-free. All values are strings (safetensors allows nothing else), so the
 * structured ones hold JSON text.
 *
 *   format          "abq"
 *   format_version  "1"
 *   abq.layers      JSON array of PackedLayerSpec, one per quantized linear
 *   abq.source      JSON {"model": hub id or folder name, "revision": commit or "", "dtype": source dtype}
 *   abq.checksums   JSON {tensor name: sha256 of its bytes, 64 lowercase hex}, one per tensor in the file
 * Other keys are allowed and ignored by readers (writers may add e.g. "abq.tool").
 */
import { AbqFormatError } from './errors.ts';
import { parseJsonStrict } from './json-strict.ts';
import { validateLayerSpecs, type PackedLayerSpec } from './layer-spec.ts';

export const FORMAT_NAME = 'abq';
/** The version this code writes; readers accept exactly SUPPORTED_FORMAT_VERSIONS. */
export const FORMAT_VERSION = 1;
export const SUPPORTED_FORMAT_VERSIONS: readonly number[] = [1];

export const META_FORMAT = 'format';
export const META_FORMAT_VERSION = 'format_version';
export const META_LAYERS = 'abq.layers';
export const META_SOURCE = 'abq.source';
export const META_CHECKSUMS = 'abq.checksums';
const RESERVED_KEYS = [META_FORMAT, META_FORMAT_VERSION, META_LAYERS, META_SOURCE, META_CHECKSUMS];

/** Length of a sha256 digest in hex; fixed, so placeholders can be replaced in place. */
export const SHA256_HEX_LENGTH = 64;
const SHA256_HEX = /^[0-9a-f]{64}$/;
export const CHECKSUM_PLACEHOLDER = '0'.repeat(SHA256_HEX_LENGTH);

export interface PackedSource {
  /** Hub id ("org/name") or local folder name of the float model that was quantized. */
  model: string;
  /** Commit sha of the source, or "" when unknown (a local folder). */
  revision: string;
  /** dtype of the source weights ("F32", "F16", "BF16"). */
  dtype: string;
}

export interface PackedMetadata {
  formatVersion: number;
  layers: PackedLayerSpec[];
  source: PackedSource;
  /** Tensor name -> sha256 hex. */
  checksums: Record<string, string>;
  /** The raw map, including keys this reader ignores. */
  raw: Record<string, string>;
}

/** Builds the metadata map. `checksums` may hold CHECKSUM_PLACEHOLDER values, filled in at the end of a write. */
export function buildPackedMetadata(
  layers: readonly PackedLayerSpec[],
  source: PackedSource,
  checksums: Record<string, string>,
  extra: Record<string, string> = {},
): Record<string, string> {
  for (const key of Object.keys(extra)) {
    if (RESERVED_KEYS.includes(key)) throw new Error(`extra metadata may not set the reserved key "${key}"`);
  }
  return {
    ...extra,
    [META_FORMAT]: FORMAT_NAME,
    [META_FORMAT_VERSION]: String(FORMAT_VERSION),
    [META_LAYERS]: JSON.stringify(layers),
    [META_SOURCE]: JSON.stringify({ model: source.model, revision: source.revision, dtype: source.dtype }),
    [META_CHECKSUMS]: JSON.stringify(checksums),
  };
}

/** Parses and checks the metadata of a packed file against its tensor names. */
export function parsePackedMetadata(raw: Record<string, string>, tensorNames: readonly string[]): PackedMetadata {
  if (raw[META_FORMAT] !== FORMAT_NAME) {
    throw new AbqFormatError('UNSUPPORTED_FORMAT', `__metadata__.${META_FORMAT} is ${JSON.stringify(raw[META_FORMAT])}, expected "${FORMAT_NAME}": this is not a packed abq file (a plain checkpoint loads through shared/model)`);
  }
  const version = Number(raw[META_FORMAT_VERSION]);
  if (!/^[0-9]+$/.test(raw[META_FORMAT_VERSION] ?? '') || !SUPPORTED_FORMAT_VERSIONS.includes(version)) {
    throw new AbqFormatError('UNSUPPORTED_VERSION', `format_version ${JSON.stringify(raw[META_FORMAT_VERSION])} is not supported (this reader supports ${SUPPORTED_FORMAT_VERSIONS.join(', ')}); upgrade abq-serve or re-pack the model`);
  }
  const layers = validateLayerSpecs(parseJsonStrict(raw[META_LAYERS] ?? '', META_LAYERS, 'INVALID_LAYER_SPEC'));
  const source = parseSource(raw[META_SOURCE]);
  const checksums = parseChecksums(raw[META_CHECKSUMS], tensorNames);
  return { formatVersion: version, layers, source, checksums, raw };
}

function parseSource(text: string | undefined): PackedSource {
  const v = parseJsonStrict(text ?? '', META_SOURCE, 'INVALID_SOURCE') as Record<string, unknown> | null;
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.keys(v).length !== 3 ||
      typeof v.model !== 'string' || typeof v.revision !== 'string' || typeof v.dtype !== 'string') {
    throw new AbqFormatError('INVALID_SOURCE', `${META_SOURCE} must be {"model", "revision", "dtype"} with string values, got ${text?.slice(0, 80)}`);
  }
  return { model: v.model, revision: v.revision, dtype: v.dtype };
}

function parseChecksums(text: string | undefined, tensorNames: readonly string[]): Record<string, string> {
  const v = parseJsonStrict(text ?? '', META_CHECKSUMS, 'INVALID_CHECKSUMS') as Record<string, unknown> | null;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new AbqFormatError('INVALID_CHECKSUMS', `${META_CHECKSUMS} must be a JSON object {tensor: sha256 hex}`);
  }
  const out: Record<string, string> = Object.create(null); // tensor names may be "__proto__"
  for (const [name, hex] of Object.entries(v)) {
    if (typeof hex !== 'string' || !SHA256_HEX.test(hex)) {
      throw new AbqFormatError('INVALID_CHECKSUMS', `checksum ${JSON.stringify(hex)?.slice(0, 80)} is not 64 lowercase hex digits`, name);
    }
    out[name] = hex;
  }
  const names = new Set(tensorNames);
  for (const name of Object.keys(out)) {
    if (!names.has(name)) throw new AbqFormatError('INVALID_CHECKSUMS', `${META_CHECKSUMS} lists a tensor the file does not hold`, name);
  }
  for (const name of tensorNames) {
    if (!Object.hasOwn(out, name)) throw new AbqFormatError('INVALID_CHECKSUMS', `${META_CHECKSUMS} has no checksum for this tensor`, name);
  }
  return out;
}

/**
 * The one error type of the format layer. Every rule a reader checks has its own `code`, documented
 * below and in docs/FORMAT.md ("Error codes"), so callers and tests can match the exact rule that a
 * file broke. A malformed file is permanent: retrying will not help, unlike an I/O error (which is
 * passed through unchanged, never wrapped in AbqFormatError).
 */

/** Every code, with the rule it enforces (docs/FORMAT.md repeats this table). */
export const FORMAT_ERROR_CODES = {
  // --- container (safetensors) ---
  HEADER_TOO_SMALL: 'the file is shorter than the 8-byte length prefix, or the header length is below 2 ("{}")',
  INVALID_HEADER_LENGTH: 'the header length points past the end of the file',
  HEADER_TOO_LARGE: 'the header length exceeds MAX_HEADER_BYTES (100 MB)',
  INVALID_JSON: 'the header is not valid UTF-8 JSON (padding must be whitespace), or nests deeper than MAX_JSON_DEPTH',
  HEADER_NOT_OBJECT: 'the header is valid JSON but not an object starting at its first byte with "{"',
  DUPLICATE_KEY: 'an object in the header has the same key twice (JSON.parse would silently keep the last)',
  INVALID_TENSOR_INFO: 'a tensor entry is not {dtype, shape, data_offsets} with integer dims and [begin, end], begin <= end',
  UNKNOWN_DTYPE: 'a tensor has a dtype this reader does not know (see DTYPES)',
  SHAPE_OVERFLOW: 'the element or byte count of a tensor is not a safe integer (checked maths)',
  SIZE_MISMATCH: 'end - begin differs from product(shape) * bytes per element',
  OFFSETS_OUT_OF_BOUNDS: 'a tensor ends past the end of the data buffer (truncated file)',
  OFFSETS_NOT_CONTIGUOUS: 'tensors do not tile the buffer exactly from 0 (hole, overlap, or bytes left over)',
  INVALID_METADATA: '__metadata__ is not an object of string values',
  // --- access (asking a file for something it does not hold) ---
  MISSING_TENSOR: 'a tensor that is required (or asked for) is not in the file',
  WRONG_DTYPE: 'a tensor was read as a dtype it does not have',
  // --- packed model (abq) ---
  UNSUPPORTED_FORMAT: '__metadata__.format is missing or not "abq"',
  UNSUPPORTED_VERSION: '__metadata__.format_version (or quantization_config.format_version) is not one this reader supports',
  INVALID_LAYER_SPEC: 'abq.layers is not a JSON array of complete PackedLayerSpec objects, or names a layer twice',
  INVALID_WBITS: 'a layer has wbits outside 1..8',
  INVALID_LEVELS: 'a layer has levels outside 2..2^wbits (or below 3 with symmetric: true)',
  INVALID_ABITS: 'a layer has abits outside 1..8 and not 16',
  INVALID_GROUP_SIZE: 'a layer has a group size that is neither a multiple of 32 below K nor equal to K',
  INVALID_ACT_GROUP_SIZE: 'a layer has an activation group size other than 0 or K (per token), or a multiple of groupSize below K',
  QWEIGHT_MISMATCH: 'L.qweight is not U32 [wbits, N, ceil(K/32)]',
  SCALES_MISMATCH: 'L.scales is not F16 [N, ceil(K/groupSize)]',
  ZEROS_MISMATCH: 'L.zeros is not U8 [N, ceil(K/groupSize)]',
  BIAS_MISMATCH: 'L.bias is not F32 [N], or is present/absent against hasBias',
  ZERO_OUT_OF_RANGE: 'a zero point is above levels - 1',
  CODE_OUT_OF_RANGE: 'a weight code in L.qweight is above levels - 1 (possible when levels < 2^wbits)',
  NONZERO_PADDING: 'a bit of L.qweight past K (padding of the last word of a row) is set',
  UNDESCRIBED_TENSOR: 'a tensor named like a packed layer part (L.qweight/scales/zeros) has no layer spec, or a non-float tensor sits outside a layer',
  INVALID_SOURCE: 'abq.source is not JSON {model, revision, dtype} of strings',
  INVALID_CHECKSUMS: 'abq.checksums is not JSON {tensor: 64 lowercase hex chars}, or misses or adds a tensor',
  CHECKSUM_MISMATCH: 'a tensor\'s bytes do not hash to the sha256 in abq.checksums (only checked with verify: true)',
  INVALID_QUANT_CONFIG: 'config.json is not JSON or its quantization_config disagrees with the file',
} as const;

export type AbqFormatErrorCode = keyof typeof FORMAT_ERROR_CODES;

export class AbqFormatError extends Error {
  override readonly name = 'AbqFormatError';

  /**
   * @param code the rule that was broken (see FORMAT_ERROR_CODES)
   * @param message what was found and, where one exists, the fix
   * @param tensor the tensor (or packed layer) the error is about, when there is one
   */
  constructor(
    readonly code: AbqFormatErrorCode,
    message: string,
    readonly tensor?: string,
  ) {
    super(tensor === undefined ? `${code}: ${message}` : `${code} (tensor "${tensor}"): ${message}`);
  }
}

/** True for an AbqFormatError, optionally of the given code. */
export function isAbqFormatError(e: unknown, code?: AbqFormatErrorCode): e is AbqFormatError {
  return e instanceof AbqFormatError && (code === undefined || e.code === code);
}

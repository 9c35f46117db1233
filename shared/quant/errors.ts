/** One error class for bad quantizer input, so the CLI prints it plainly (no stack) and tests match it. */
export class QuantError extends Error {
  override name = 'QuantError';
}

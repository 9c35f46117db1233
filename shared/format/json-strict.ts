/**
 * JSON parsing for untrusted headers: JSON.parse for the grammar and the values, plus one linear scan
 * that rejects duplicate keys, which JSON.parse silently resolves by keeping the last one (a file
 * could then show one thing to a tool that keeps the first and another to us).
 *
 * The scan runs only on text JSON.parse accepted, so it can rely on the grammar: inside an object the
 * string after `{` or `,` is a key. It keeps an explicit stack (no recursion, so deep nesting cannot
 * overflow the call stack) and compares keys after decoding escapes, so "a" and "\u0061" collide.
 */
import { AbqFormatError, type AbqFormatErrorCode } from './errors.ts';

/**
 * Deepest nesting accepted. Our headers need 3 levels and HF configs a few more; the cap exists
 * because later code (JSON.stringify in error messages, recursive walks) would overflow the stack
 * on the 100k-deep arrays that JSON.parse itself accepts.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

interface Frame {
  keys: Set<string> | null; // null for arrays
  expectKey: boolean;
}

/**
 * Parses JSON text, throwing AbqFormatError(`invalidCode`) when it is not JSON or nests deeper than
 * MAX_JSON_DEPTH, and AbqFormatError('DUPLICATE_KEY') when any object repeats a key.
 */
export function parseJsonStrict(text: string, what: string, invalidCode: AbqFormatErrorCode = 'INVALID_JSON'): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new AbqFormatError(invalidCode, `${what} is not valid JSON (${(e as Error).message})`);
  }
  assertNoDuplicateKeys(text, what, invalidCode);
  return value;
}

/** Throws DUPLICATE_KEY if an object in `text` (already known to be valid JSON) repeats a key, `tooDeepCode` past MAX_JSON_DEPTH. */
export function assertNoDuplicateKeys(text: string, what: string, tooDeepCode: AbqFormatErrorCode = 'INVALID_JSON'): void {
  const stack: Frame[] = [];
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      let escaped = false;
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) { escaped = true; i++; continue; }
        if (d === QUOTE) break;
      }
      const top = stack[stack.length - 1];
      if (top && top.keys && top.expectKey) {
        top.expectKey = false;
        const raw = text.slice(start, i + 1);
        const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (top.keys.has(key)) {
          throw new AbqFormatError('DUPLICATE_KEY', `${what} has the key ${JSON.stringify(key)} twice in one object; keep one`);
        }
        top.keys.add(key);
      }
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (stack.length === MAX_JSON_DEPTH) {
        throw new AbqFormatError(tooDeepCode, `${what} nests deeper than MAX_JSON_DEPTH (${MAX_JSON_DEPTH})`);
      }
      stack.push(c === OPEN_OBJECT ? { keys: new Set(), expectKey: true } : { keys: null, expectKey: false });
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      stack.pop();
    } else if (c === COMMA) {
      const top = stack[stack.length - 1];
      if (top && top.keys) top.expectKey = true;
    }
  }
}

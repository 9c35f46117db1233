import { describe, expect, it } from 'vitest';
import { parseJsonStrict } from '../../../shared/format/json-strict.ts';
import { parseSafetensors } from '../../../shared/format/safetensors-read.ts';
import { rawSafetensors } from './fixtures.ts';

const code = (fn: () => unknown) => {
  try { fn(); } catch (e) { return (e as { code?: string }).code ?? String(e); }
  return 'ok';
};

describe('parseJsonStrict', () => {
  it('parses like JSON.parse when keys are unique', () => {
    expect(parseJsonStrict('{"a":{"a":1},"b":[{"a":2},{"a":3}],"c":"\\"a\\":"}', 'x')).toEqual({ a: { a: 1 }, b: [{ a: 2 }, { a: 3 }], c: '"a":' });
  });

  it('finds duplicates at any depth, after escapes are decoded', () => {
    expect(code(() => parseJsonStrict('{"a":1,"a":2}', 'x'))).toBe('DUPLICATE_KEY');
    expect(code(() => parseJsonStrict('{"x":[{"k":1,"k":1}]}', 'x'))).toBe('DUPLICATE_KEY');
    expect(code(() => parseJsonStrict('{"\\u0061":1,"a":2}', 'x'))).toBe('DUPLICATE_KEY');
    expect(code(() => parseJsonStrict('{"a\\"":1,"a":2}', 'x'))).toBe('ok');
  });

  it('turns deep nesting into a format error, never a stack overflow', () => {
    const depth = 200_000;
    const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    expect(code(() => parseSafetensors(rawSafetensors(`{"t":${deep}}`)))).toBe('INVALID_JSON');
    expect(code(() => parseSafetensors(rawSafetensors(`{"__metadata__":{"k":${deep}}}`)))).toBe('INVALID_JSON');
    expect(code(() => parseJsonStrict(`{"a":${'['.repeat(64)}${']'.repeat(64)}}`, 'x'))).toBe('INVALID_JSON');
    expect(code(() => parseJsonStrict(`${'['.repeat(64)}${']'.repeat(64)}`, 'x'))).toBe('ok');
  });
});

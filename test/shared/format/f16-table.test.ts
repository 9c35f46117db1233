import { describe, expect, it } from 'vitest';
import { decodeF16, decodeF16Table } from '../../../shared/format/f16.ts';

describe('decodeF16Table', () => {
  it('matches decodeF16 on all 65536 bit patterns', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const a = decodeF16(all);
    const b = decodeF16Table(all);
    let mismatches = 0;
    for (let i = 0; i < all.length; i++) if (!Object.is(a[i], b[i])) mismatches++;
    expect(mismatches).toBe(0);
  });
});

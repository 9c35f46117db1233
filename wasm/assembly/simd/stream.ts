/** Reads `bytes` (a multiple of 64) with v128 loads, for the memory-bandwidth figure of the benchmark. */
export function streamRead(ptr: usize, bytes: usize): i32 {
  let a = i32x4.splat(0), b = i32x4.splat(0), c = i32x4.splat(0), d = i32x4.splat(0);
  const end = ptr + bytes;
  for (let p = ptr; p < end; p += 64) {
    a = v128.xor(a, v128.load(p));
    b = v128.xor(b, v128.load(p, 16));
    c = v128.xor(c, v128.load(p, 32));
    d = v128.xor(d, v128.load(p, 48));
  }
  const x = v128.xor(v128.xor(a, b), v128.xor(c, d));
  return i32x4.extract_lane(x, 0) ^ i32x4.extract_lane(x, 1) ^ i32x4.extract_lane(x, 2) ^ i32x4.extract_lane(x, 3);
}

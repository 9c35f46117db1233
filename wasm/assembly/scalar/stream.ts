/** Reads `bytes` (a multiple of 64) with i64 loads, for the memory-bandwidth figure of the benchmark. */
export function streamRead(ptr: usize, bytes: usize): i32 {
  let a: u64 = 0, b: u64 = 0;
  const end = ptr + bytes;
  for (let p = ptr; p < end; p += 16) {
    a ^= load<u64>(p);
    b ^= load<u64>(p, 8);
  }
  const x = a ^ b;
  return <i32>(x ^ (x >> 32));
}

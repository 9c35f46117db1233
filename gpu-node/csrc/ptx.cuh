// Named PTX helpers (one instruction each), shared by the kernels.
#pragma once
#include <cstdint>
#include <cuda_fp16.h>

namespace abq {

constexpr unsigned kFullMask = 0xffffffffu;

/**
 * Binary tensor-core MMA: D[16x8] = popcount(A[16x256] AND B[256x8]) (int32, C = 0).
 * Fragments (PTX ISA, "Matrix Fragments for mma.m16n8k256"), g = lane / 4, t = lane % 4:
 *   a0: row g,   k bits [32t, 32t+32)      a1: row g+8, same bits
 *   a2: row g,   k bits [128+32t, +32)     a3: row g+8, same bits
 *   b0: col g,   k bits [32t, 32t+32)      b1: col g, k bits [128+32t, +32)
 *   d0,d1: row g, cols 2t, 2t+1            d2,d3: row g+8, cols 2t, 2t+1
 * AND (not XOR): Hopper runs b1 AND.POPC natively, XOR on a slow path (DESIGN.md).
 */
__device__ __forceinline__ void mmaAndPopc(int (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                           uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k256.row.col.s32.b1.b1.s32.and.popc "
      "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%10,%10,%10};\n"
      : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1), "r"(0));
}

/**
 * fp16 tensor-core MMA with fp32 accumulators: D[16x8] += A[16x16] * B[16x8].
 *   a0: row g, k 2t..2t+1   a1: row g+8, k 2t..   a2: row g, k 2t+8..   a3: row g+8, k 2t+8..
 *   b0: k 2t..2t+1, col g   b1: k 2t+8.., col g
 *   d0,d1: row g, cols 2t, 2t+1; d2,d3: row g+8
 */
__device__ __forceinline__ void mmaF16(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                       uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
      "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

/** 16-byte load that skips L1: weights are read once per call (an L2::evict_first hint needs .v8 on sm_90). */
__device__ __forceinline__ uint4 ldStream(const uint4* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

/** 4-byte read-only load through L1: activation planes are re-read by every warp of a CTA. */
__device__ __forceinline__ uint32_t ldCached(const uint32_t* p) { return __ldg(p); }

/** lop3 (a & b) | c in one instruction: builds a half2 from two code fields and the 1024.0 exponent. */
__device__ __forceinline__ uint32_t lop3AndOr(uint32_t a, uint32_t b, uint32_t c) {
  uint32_t r;
  asm("lop3.b32 %0, %1, %2, %3, 0xea;\n" : "=r"(r) : "r"(a), "r"(b), "r"(c));
  return r;
}

/** Binary MMA that accumulates into C (D = C + popcount(A AND B)): the tiled kernel keeps one
 *  accumulator per (token plane, weight plane) pair of rows and columns, so no shift per MMA. */
__device__ __forceinline__ void mmaAndPopcAcc(int (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k256.row.col.s32.b1.b1.s32.and.popc "
      "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/** The same with unsigned accumulators (wrapping sums, as the split-K kernel keeps them). */
__device__ __forceinline__ void mmaAndPopcAcc(uint32_t (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k256.row.col.s32.b1.b1.s32.and.popc "
      "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/** Binary MMA into fresh accumulators (D = popcount(A AND B)): the wide decode kernel shifts each weight
 *  plane's product into one running sum instead of keeping an accumulator set per plane. */
__device__ __forceinline__ void mmaAndPopc(uint32_t (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k256.row.col.s32.b1.b1.s32.and.popc "
      "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%10,%10,%10};\n"
      : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1), "r"(0u));
}

/** Shared-memory address (32-bit, .shared window) of a generic pointer into shared memory. */
__device__ __forceinline__ uint32_t smemAddr(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }

/** 16-byte global -> shared copy that bypasses registers and L1; srcBytes 0 zero-fills the 16 bytes. */
__device__ __forceinline__ void cpAsync16(uint32_t dst, const void* src, int srcBytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(srcBytes) : "memory");
}
/** 8-byte global -> shared copy (through L1: .cg takes 16-byte copies only). */
__device__ __forceinline__ void cpAsync8(uint32_t dst, const void* src) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8;\n" ::"r"(dst), "l"(src) : "memory");
}
__device__ __forceinline__ void cpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
/** Wait until at most N committed groups of this thread are still in flight. */
template <int N>
__device__ __forceinline__ void cpAsyncWait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory"); }

/**
 * Four 8x8 b16 matrices from shared memory: lane l gives the address of row l%8 of matrix l/8 (16 B,
 * 16-byte aligned) and receives in r[m] the 32-bit word l%4 of row l/4 of matrix m. For bit planes
 * that is exactly an m16n8k256 fragment word: row g = l/4, word t = l%4 of a 128-bit slice.
 */
__device__ __forceinline__ void ldmatrixX4(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr)
               : "memory");
}

/**
 * Programmatic dependent launch (sm_90): a kernel launched with the programmatic-serialization attribute
 * (pdl.h) may start while the kernel before it in the stream still runs. pdlWait() blocks until that
 * kernel has completed and its writes are visible: every such kernel calls it before it reads anything
 * the previous kernels wrote, and before it exits, so completion stays transitive along the stream.
 * pdlLaunchDependents() lets the next kernel's CTAs start early (their own pdlWait still holds them
 * before any dependent read). Both are no-ops without the attribute and on older architectures.
 */
__device__ __forceinline__ void pdlWait() {
#if __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void pdlLaunchDependents() {
#if __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

}  // namespace abq

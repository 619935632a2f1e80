/* infer_simd.h -- the vector type the inference kernels are written over; private to
 * runtime/infer/ (the amalgamation inlines it once).
 *
 * One small set of inline functions per target, chosen at compile time by the
 * compiler's macros: AVX-512 (16 floats), AVX2 + FMA (8), AArch64 NEON (4), and the
 * portable fallback, where a "vector" is one float and fma is a*b + c written plainly.
 * The convolution's register tile (NETC_MR output channels x NETC_NV vectors of output
 * pixels) is sized to each target's register file.  NETC_INFER_PORTABLE forces the
 * portable path. */
#ifndef NETC_INFER_SIMD_H
#define NETC_INFER_SIMD_H

#include <stddef.h>

/* always_inline where the compiler has it: the tile functions must be expanded with
 * constant tile sizes for their accumulators to stay in registers. */
#if defined(__GNUC__)
#define NETC_INLINE static inline __attribute__((always_inline))
#else
#define NETC_INLINE static inline
#endif

/* Output channels per convolution tile, on every target (netc_conv2d_work_floats
 * depends on it, and must not depend on the target). */
#define NETC_MR 4

#if !defined(NETC_INFER_PORTABLE) && defined(__AVX512F__)
#include <immintrin.h>
#define NETC_SIMD_NAME "avx512"
#define NETC_SIMD_AVX512 1
#define NETC_VW 16
#define NETC_NV 6
#define NETC_CV_P 14
typedef __m512 netc_vf;
NETC_INLINE netc_vf netc_vf_set1(float x) { return _mm512_set1_ps(x); }
NETC_INLINE netc_vf netc_vf_load(const float *p) { return _mm512_loadu_ps(p); }
NETC_INLINE void netc_vf_store(float *p, netc_vf v) { _mm512_storeu_ps(p, v); }
/* a*b + c, rounded once. */
NETC_INLINE netc_vf netc_vf_fma(netc_vf a, netc_vf b, netc_vf c) { return _mm512_fmadd_ps(a, b, c); }
/* x > 0 ? x : 0 per lane (NaN gives 0, as the reference's comparison). */
NETC_INLINE netc_vf netc_vf_relu(netc_vf v) { return _mm512_max_ps(v, _mm512_setzero_ps()); }
/* The larger of a and b per lane, for operands that are never NaN (relu's results). */
NETC_INLINE netc_vf netc_vf_max(netc_vf a, netc_vf b) { return _mm512_max_ps(a, b); }
/* The first n <= 16 lanes. */
NETC_INLINE __mmask16 netc_mask_first(size_t n) { return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u); }
/* p[0 .. n-1] = the first n lanes of v, nothing after them touched. */
#define NETC_VF_STORE_FIRST 1
NETC_INLINE void netc_vf_store_first(float *p, netc_vf v, size_t n) { _mm512_mask_storeu_ps(p, netc_mask_first(n), v); }
NETC_INLINE float netc_vf_sum(netc_vf v) { return _mm512_reduce_add_ps(v); }
/* v, pinned to a register: the convolution tile loads each input vector once for all
 * its uses, where gcc would fold the load into each fused multiply-add and so load
 * it MR times (load-bound: Zen 4 loads one 64-byte vector per cycle). */
#if defined(__GNUC__)
#define NETC_VF_PIN(v) __asm__("" : "+v"(v))
#endif

#elif !defined(NETC_INFER_PORTABLE) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define NETC_SIMD_NAME "avx2"
#define NETC_VW 8
#define NETC_NV 3
#define NETC_CV_P 6
typedef __m256 netc_vf;
NETC_INLINE netc_vf netc_vf_set1(float x) { return _mm256_set1_ps(x); }
NETC_INLINE netc_vf netc_vf_load(const float *p) { return _mm256_loadu_ps(p); }
NETC_INLINE void netc_vf_store(float *p, netc_vf v) { _mm256_storeu_ps(p, v); }
NETC_INLINE netc_vf netc_vf_fma(netc_vf a, netc_vf b, netc_vf c) { return _mm256_fmadd_ps(a, b, c); }
NETC_INLINE netc_vf netc_vf_relu(netc_vf v) { return _mm256_max_ps(v, _mm256_setzero_ps()); }
NETC_INLINE netc_vf netc_vf_max(netc_vf a, netc_vf b) { return _mm256_max_ps(a, b); }
NETC_INLINE float netc_vf_sum(netc_vf v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#elif !defined(NETC_INFER_PORTABLE) && defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#define NETC_SIMD_NAME "neon"
#define NETC_VW 4
#define NETC_NV 6
#define NETC_CV_P 14
typedef float32x4_t netc_vf;
NETC_INLINE netc_vf netc_vf_set1(float x) { return vdupq_n_f32(x); }
NETC_INLINE netc_vf netc_vf_load(const float *p) { return vld1q_f32(p); }
NETC_INLINE void netc_vf_store(float *p, netc_vf v) { vst1q_f32(p, v); }
NETC_INLINE netc_vf netc_vf_fma(netc_vf a, netc_vf b, netc_vf c) { return vfmaq_f32(c, a, b); }
/* A mask of x > 0 rather than vmaxq_f32, which would keep a NaN. */
NETC_INLINE netc_vf netc_vf_relu(netc_vf v)
{
    uint32x4_t pos = vcgtq_f32(v, vdupq_n_f32(0.0f));
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), pos));
}
NETC_INLINE netc_vf netc_vf_max(netc_vf a, netc_vf b) { return vmaxq_f32(a, b); }
NETC_INLINE float netc_vf_sum(netc_vf v) { return vaddvq_f32(v); }

#else
#define NETC_SIMD_NAME "portable"
#define NETC_VW 1
#define NETC_NV 4
typedef float netc_vf;
NETC_INLINE netc_vf netc_vf_set1(float x) { return x; }
NETC_INLINE netc_vf netc_vf_load(const float *p) { return *p; }
NETC_INLINE void netc_vf_store(float *p, netc_vf v) { *p = v; }
NETC_INLINE netc_vf netc_vf_fma(netc_vf a, netc_vf b, netc_vf c) { return a * b + c; }
NETC_INLINE netc_vf netc_vf_relu(netc_vf v) { return v > 0.0f ? v : 0.0f; }
/* (no netc_vf_sum: the portable dense kernel sums in order, without lanes) */
#endif

#ifndef NETC_VF_PIN
#define NETC_VF_PIN(v) ((void)0)
#endif

/* p, opaque to the optimiser from here on: stops gcc from carrying the values loaded
 * through p over to the next filter tap (predictive commoning), which spills them and
 * made the channel-vectorised convolution tile 30% slower. */
#if defined(__GNUC__) && !defined(NETC_INFER_PORTABLE)
#define NETC_PTR_PIN(p) __asm__("" : "+r"(p))
#else
#define NETC_PTR_PIN(p) ((void)0)
#endif

#endif

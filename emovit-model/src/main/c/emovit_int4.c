/*
 * The 4-bit product of emovit's stored int4 weights (Int4Format), read as stored:
 *   weight U8 [N, K/2], byte j of row n = column 2j (low nibble) and 2j+1 (high nibble), levels q in [0, 15];
 *   params BF16 group-major, per group of 32 columns either [K/32, N, 2]: w[n,k] = (q - 8) * s + z (affine), or
 *   [K/32, N]: w[n,k] = (q - 8) * s (symmetric, z = 0: half the params' bytes, 4.5 bits a weight as llama.cpp's Q4_0).
 *
 * Activations are quantised per row and group of 32 to int8 with a float scale d (llama.cpp's Q8_0), so that
 *   y[m,n] = sum_g s[g,n] d[m,g] dot(q[n,g,:], xq[m,g,:]) + sum_g (z[g,n] - 8 s[g,n]) d[m,g] S[m,g]
 * with S the sum of a group's int8 values; the dot is u8 x s8, what VNNI's vpdpbusd (and AVX2's vpmaddubsw) compute.
 *
 * Layout in registers: a block of rows (16 for AVX-512, 8 for AVX2) is transposed per group so that a vector holds
 * one dword of 4 nibbles from each row ("slot"), lanes = rows. Each slot multiplies by one broadcast dword of the
 * activation, so a group's 8 slots accumulate straight into per-row int32 lanes: no horizontal sums, and the row
 * block's scales (one 64-byte line of the group-major params for 16 rows) scale all lanes at once. Slot 4h+j holds the
 * low (h = 0) or high (h = 1) nibbles of stored bytes 4j..4j+3, i.e. columns 8j+2i+h (i = 0..3): the activations are
 * quantised into that order, a group's 16 even columns then its 16 odd ones.
 *
 * Several activation rows (prefill) reuse a block's unpacked weights from a per-thread buffer, a tile of rows at a
 * time with float accumulators in registers; a few rows (decode) unpack and multiply in one pass, as they are bound by
 * reading the nibbles once. Threads: a small pthread pool (never a second OpenMP runtime: libtorch has its own), the
 * caller and the workers claiming chunks of consecutive rows (a few per thread) from one counter; as many threads as
 * libtorch's thread count.
 */
/* JNI's types, declared here rather than taken from jni.h: the entry points use primitives only, and a JDK without
 * include/ (a JRE, some builds of 25) can still build this. Their ABI on x86-64 Linux is fixed. */
#include <stdint.h>
typedef int32_t jint;
typedef int64_t jlong;
typedef void JNIEnv;
typedef void *jclass;
#define JNIEXPORT __attribute__((visibility("default")))
#define JNICALL
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <linux/futex.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <unistd.h>
#include <x86intrin.h>
#include <dlfcn.h>

#define GROUP 32
#define SLOTS 8           /* dwords of 4 levels per group */
#define MT512 8           /* activation rows per register tile, AVX-512 */
#define MT256 4           /* the same on AVX2 (16 registers) */
/*
 * Software prefetch distances, measured on this project's 2-core EPYC by alternating builds in one process (16 and 32
 * layers at 7B widths, one activation row): each row's next 64-byte line, issued as a block's unpacking enters a line,
 * read 11-13% faster than 512 bytes ahead (128: 5-10%, 1024: 10% slower, none: 18% slower); a group's params two lines
 * ahead (8 or 4 row blocks; four lines for 16-row blocks) another 3-5% faster than one.
 */
#define PARAMS_AHEAD 128  /* bytes ahead in a group's params that a row block prefetches */
#ifndef PREFETCH
#define PREFETCH 64       /* bytes ahead in each row that a block's unpacking prefetches */
#endif
#ifndef PF_HINT
#define PF_HINT _MM_HINT_T0
#endif

enum { ISA_NONE = 0, ISA_AVX2 = 1, ISA_AVX512 = 2 };

typedef struct {
    const uint8_t *w;     /* [N, K/2] */
    const uint16_t *p;    /* bf16 [G, N, 2] */
    const int8_t *xq;     /* [M, K], permuted per group */
    const float *xd;      /* [M, G] activation scales */
    const float *xds;     /* [M, G] scale * sum of the group's int8 values */
    float *y;             /* [M, N] */
    long n, k, m;
    int per;              /* params per group and row: 2 (scale, zero) or 1 (scale; zero 0) */
} problem;

/* ---------------------------------------------------------------- activations */

__attribute__((target("avx2,fma")))
static void quantize_rows(const float *x, long k, long m0, long m1, int8_t *xq, float *xd, float *xds) {
    const long groups = k / GROUP;
    const __m256i chunk = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);   /* evens then odds of 8 columns */
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (long r = m0; r < m1; r++) {
        for (long g = 0; g < groups; g++) {
            const float *src = x + r * k + g * GROUP;
            __m256 v0 = _mm256_loadu_ps(src), v1 = _mm256_loadu_ps(src + 8);
            __m256 v2 = _mm256_loadu_ps(src + 16), v3 = _mm256_loadu_ps(src + 24);
            __m256 a = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                     _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
            __m128 h = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
            h = _mm_max_ps(h, _mm_movehl_ps(h, h));
            h = _mm_max_ss(h, _mm_movehdup_ps(h));
            float amax = _mm_cvtss_f32(h);
            float d = amax / 127.0f, id = amax > 0.0f ? 127.0f / amax : 0.0f;
            __m256 mul = _mm256_set1_ps(id);
            __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_permutevar8x32_ps(v0, chunk), mul));
            __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_permutevar8x32_ps(v1, chunk), mul));
            __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_permutevar8x32_ps(v2, chunk), mul));
            __m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_permutevar8x32_ps(v3, chunk), mul));
            __m256i s = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
            __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
            s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
            /* the packs interleave 128-bit lanes: chunks [evens, odds] come out as the group's [16 evens, 16 odds] */
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
            _mm256_storeu_si256((__m256i *) (xq + r * k + g * GROUP), p);
            xd[r * groups + g] = d;
            xds[r * groups + g] = d * (float) _mm_cvtsi128_si32(s4);
        }
    }
}

/* ---------------------------------------------------------------- AVX-512 VNNI */

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"), always_inline)) static inline

/* The 8 slots of group g for 16 rows (row pointers already clamped to existing rows). */
T512 void unpack16(const uint8_t *const rows[16], long g, __m512i W[SLOTS]) {
    const long off = g * (GROUP / 2);
    if ((g & 3) == 0) {   /* a new line of each row: 16 streams are more than the hardware prefetchers follow */
        for (int r = 0; r < 16; r++) {
            _mm_prefetch((const char *) rows[r] + off + PREFETCH, PF_HINT);
        }
    }
    __m512i z[4];
    for (int q = 0; q < 4; q++) {
        __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *) (rows[q] + off)));
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *) (rows[q + 4] + off)), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *) (rows[q + 8] + off)), 2);
        z[q] = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *) (rows[q + 12] + off)), 3);
    }
    /* a 4x4 dword transpose in each 128-bit lane: lane L of z[q] is row q + 4L, so T[j] = dword j of rows 0..15 */
    __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
    __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
    __m512i T[4] = {_mm512_unpacklo_epi64(t0, t2), _mm512_unpackhi_epi64(t0, t2),
                    _mm512_unpacklo_epi64(t1, t3), _mm512_unpackhi_epi64(t1, t3)};
    const __m512i nib = _mm512_set1_epi8(0x0f);
    for (int j = 0; j < 4; j++) {
        W[j] = _mm512_and_si512(T[j], nib);
        W[4 + j] = _mm512_and_si512(_mm512_srli_epi16(T[j], 4), nib);
    }
}

/* Scales and (zero - 8 scale) of group g for rows n..n+15 (masked past N). */
T512 void params16(const problem *pr, long g, long n, __mmask16 rows, __m512 *scale, __m512 *zero) {
    const uint16_t *at = pr->p + (g * pr->n + n) * pr->per;
    _mm_prefetch((const char *) at + 2 * PARAMS_AHEAD, _MM_HINT_T0);   /* as params8 */
    if (pr->per == 1) {
        __m512i s16 = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(rows, at));
        *scale = _mm512_castsi512_ps(_mm512_slli_epi32(s16, 16));
        *zero = _mm512_mul_ps(_mm512_set1_ps(-8.0f), *scale);
        return;
    }
    __m512i line = _mm512_maskz_loadu_epi32(rows, at);
    __m512 s = _mm512_castsi512_ps(_mm512_slli_epi32(line, 16));
    __m512 z = _mm512_castsi512_ps(_mm512_and_si512(line, _mm512_set1_epi32((int) 0xffff0000u)));
    *scale = s;
    *zero = _mm512_fnmadd_ps(_mm512_set1_ps(8.0f), s, z);
}

/* acc[t] += group g's contribution for activation rows m0..m0+mt-1. */
T512 void apply16(const problem *pr, const __m512i W[SLOTS], __m512 scale, __m512 zero, long g, long m0, int mt,
                  __m512 acc[MT512]) {
    const long groups = pr->k / GROUP;
    for (int t = 0; t < mt; t++) {
        const int32_t *xs = (const int32_t *) (pr->xq + (m0 + t) * pr->k + g * GROUP);
        __m512i a, b;
        if (mt <= 2) {   /* two chains: one row has nothing else to overlap their latency with */
            a = _mm512_setzero_si512();
            b = _mm512_setzero_si512();
            for (int s = 0; s < SLOTS; s += 2) {
                a = _mm512_dpbusd_epi32(a, W[s], _mm512_set1_epi32(xs[s]));
                b = _mm512_dpbusd_epi32(b, W[s + 1], _mm512_set1_epi32(xs[s + 1]));
            }
            a = _mm512_add_epi32(a, b);
        } else {
            a = _mm512_setzero_si512();
            for (int s = 0; s < SLOTS; s++) {
                a = _mm512_dpbusd_epi32(a, W[s], _mm512_set1_epi32(xs[s]));
            }
        }
        const long i = (m0 + t) * groups + g;
        __m512 sd = _mm512_mul_ps(scale, _mm512_set1_ps(pr->xd[i]));
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a), sd, acc[t]);
        acc[t] = _mm512_fmadd_ps(zero, _mm512_set1_ps(pr->xds[i]), acc[t]);
    }
}

T512 void rows16(const problem *pr, long n, const uint8_t *rows[16], __mmask16 *mask) {
    long valid = pr->n - n < 16 ? pr->n - n : 16;
    for (int r = 0; r < 16; r++) {
        rows[r] = pr->w + (n + (r < valid ? r : valid - 1)) * (pr->k / 2);
    }
    *mask = (__mmask16) ((1u << valid) - 1);
}

/* One tile of mt activation rows against the 16-row block at n, weights unpacked in place or from buf. */
T512 void tile16(const problem *pr, const uint8_t *const rows[16], __mmask16 mask, long n, long m0, int mt,
                 const __m512i *buf, const __m512 *pbuf) {
    const long groups = pr->k / GROUP;
    __m512 acc[MT512];
    for (int t = 0; t < MT512; t++) {
        acc[t] = _mm512_setzero_ps();
    }
    for (long g = 0; g < groups; g++) {
        __m512i W[SLOTS];
        __m512 scale, zero;
        if (buf) {
            for (int s = 0; s < SLOTS; s++) {
                W[s] = _mm512_load_si512(buf + g * SLOTS + s);
            }
            scale = pbuf[2 * g];
            zero = pbuf[2 * g + 1];
        } else {
            unpack16(rows, g, W);
            params16(pr, g, n, mask, &scale, &zero);
        }
        apply16(pr, W, scale, zero, g, m0, mt, acc);
    }
    for (int t = 0; t < mt; t++) {
        _mm512_mask_storeu_ps(pr->y + (m0 + t) * pr->n + n, mask, acc[t]);
    }
}


__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
static void run512(const problem *pr, long n0, long n1, void *scratch) {
    const long groups = pr->k / GROUP;
    __m512i *buf = (__m512i *) scratch;
    __m512 *pbuf = (__m512 *) (buf + groups * SLOTS);
    for (long n = n0; n < n1; n += 16) {
        const uint8_t *rows[16];
        __mmask16 mask;
        rows16(pr, n, rows, &mask);
        const int buffered = pr->m > MT512;
        if (buffered) {
            for (long g = 0; g < groups; g++) {
                __m512i W[SLOTS];
                unpack16(rows, g, W);
                for (int s = 0; s < SLOTS; s++) {
                    _mm512_store_si512(buf + g * SLOTS + s, W[s]);
                }
                params16(pr, g, n, mask, pbuf + 2 * g, pbuf + 2 * g + 1);
            }
        }
        for (long m0 = 0; m0 < pr->m; m0 += MT512) {
            int mt = pr->m - m0 < MT512 ? (int) (pr->m - m0) : MT512;
            const __m512i *b = buffered ? buf : NULL;
            const __m512 *pb = buffered ? pbuf : NULL;
            /* a constant tile height per call, so that the accumulators stay in registers */
            switch (mt) {
                case 1: tile16(pr, rows, mask, n, m0, 1, b, pb); break;
                case 2: tile16(pr, rows, mask, n, m0, 2, b, pb); break;
                case 3: tile16(pr, rows, mask, n, m0, 3, b, pb); break;
                case 4: tile16(pr, rows, mask, n, m0, 4, b, pb); break;
                case 5: tile16(pr, rows, mask, n, m0, 5, b, pb); break;
                case 6: tile16(pr, rows, mask, n, m0, 6, b, pb); break;
                case 7: tile16(pr, rows, mask, n, m0, 7, b, pb); break;
                default: tile16(pr, rows, mask, n, m0, 8, b, pb); break;
            }
        }
    }
}

/* ---------------------------------------------------------------- AVX2 */

#define T256 __attribute__((target("avx2,fma"), always_inline)) static inline

T256 void unpack8(const uint8_t *const rows[8], long g, __m256i W[SLOTS]) {
    const long off = g * (GROUP / 2);
    if ((g & 3) == 0) {
        for (int r = 0; r < 8; r++) {
            _mm_prefetch((const char *) rows[r] + off + PREFETCH, PF_HINT);
        }
    }
    __m256i z[4];
    for (int q = 0; q < 4; q++) {
        z[q] = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *) (rows[q] + off))),
                                       _mm_loadu_si128((const __m128i *) (rows[q + 4] + off)), 1);
    }
    __m256i t0 = _mm256_unpacklo_epi32(z[0], z[1]), t1 = _mm256_unpackhi_epi32(z[0], z[1]);
    __m256i t2 = _mm256_unpacklo_epi32(z[2], z[3]), t3 = _mm256_unpackhi_epi32(z[2], z[3]);
    __m256i T[4] = {_mm256_unpacklo_epi64(t0, t2), _mm256_unpackhi_epi64(t0, t2),
                    _mm256_unpacklo_epi64(t1, t3), _mm256_unpackhi_epi64(t1, t3)};
    const __m256i nib = _mm256_set1_epi8(0x0f);
    for (int j = 0; j < 4; j++) {
        W[j] = _mm256_and_si256(T[j], nib);
        W[4 + j] = _mm256_and_si256(_mm256_srli_epi16(T[j], 4), nib);
    }
}

/*
 * Scales and (zero - 8 scale) of group g for rows n..n+7 (masked past N). The group-major params put consecutive
 * groups of a row N * 2 or N * 4 bytes apart, a page or more: the hardware prefetchers, which stop at page boundaries,
 * never fetch them, and decoding (which reads each once) waited on DRAM at every group (2x llama.cpp Q4_0's time per
 * token). So each call prefetches the same group's params PARAMS_AHEAD bytes on, several row blocks before they are read.
 */
T256 void params8(const problem *pr, long g, long n, __m256i mask, __m256 *scale, __m256 *zero) {
    const uint16_t *at = pr->p + (g * pr->n + n) * pr->per;
    _mm_prefetch((const char *) at + PARAMS_AHEAD, _MM_HINT_T0);
    if (pr->per == 1) {
        __m128i s16;
        if (n + 8 <= pr->n) {
            s16 = _mm_loadu_si128((const __m128i *) at);
        } else {   /* the last block: no 16-bit masked load in AVX2 */
            uint16_t part[8] = {0};
            memcpy(part, at, sizeof(uint16_t) * (size_t) (pr->n - n));
            s16 = _mm_loadu_si128((const __m128i *) part);
        }
        *scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(s16), 16));
        *zero = _mm256_mul_ps(_mm256_set1_ps(-8.0f), *scale);
        return;
    }
    __m256i line = _mm256_maskload_epi32((const int *) at, mask);
    __m256 s = _mm256_castsi256_ps(_mm256_slli_epi32(line, 16));
    __m256 z = _mm256_castsi256_ps(_mm256_and_si256(line, _mm256_set1_epi32((int) 0xffff0000u)));
    *scale = s;
    *zero = _mm256_fnmadd_ps(_mm256_set1_ps(8.0f), s, z);
}

T256 void apply8(const problem *pr, const __m256i W[SLOTS], __m256 scale, __m256 zero, long g, long m0, int mt,
                 __m256 acc[MT256]) {
    const long groups = pr->k / GROUP;
    const __m256i ones = _mm256_set1_epi16(1);
    for (int t = 0; t < mt; t++) {
        const int32_t *xs = (const int32_t *) (pr->xq + (m0 + t) * pr->k + g * GROUP);
        /* all 8 slots summed in int16: at most 32 * 15 * 127 split over a dword's two halves, no saturation */
        __m256i a = _mm256_maddubs_epi16(W[0], _mm256_set1_epi32(xs[0]));
        __m256i b = _mm256_maddubs_epi16(W[1], _mm256_set1_epi32(xs[1]));
        for (int s = 2; s < SLOTS; s += 2) {
            a = _mm256_add_epi16(a, _mm256_maddubs_epi16(W[s], _mm256_set1_epi32(xs[s])));
            b = _mm256_add_epi16(b, _mm256_maddubs_epi16(W[s + 1], _mm256_set1_epi32(xs[s + 1])));
        }
        __m256i sum = _mm256_madd_epi16(_mm256_add_epi16(a, b), ones);
        const long i = (m0 + t) * groups + g;
        __m256 sd = _mm256_mul_ps(scale, _mm256_set1_ps(pr->xd[i]));
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), sd, acc[t]);
        acc[t] = _mm256_fmadd_ps(zero, _mm256_set1_ps(pr->xds[i]), acc[t]);
    }
}

/*
 * One tile of up to MT256 activation rows against the 8-row block at n (weights unpacked in place or from buf), and the
 * loop over a chunk's 8-row blocks (unpacked once into the buffer where several tiles reuse them): written once here
 * and defined for each way of computing a slot's dot products, AVX2's (apply8) and AVX-512 VNNI's (apply8v).
 */
#define DEFINE_TILE8(ATTR, NAME, APPLY) \
ATTR void NAME(const problem *pr, const uint8_t *const rows[8], __m256i mask, long n, long m0, int mt, \
                const __m256i *buf, const __m256 *pbuf) {                                              \
    const long groups = pr->k / GROUP;                                                                 \
    __m256 acc[MT256];                                                                                 \
    for (int t = 0; t < MT256; t++) {                                                                  \
        acc[t] = _mm256_setzero_ps();                                                                  \
    }                                                                                                  \
    for (long g = 0; g < groups; g++) {                                                                \
        __m256i W[SLOTS];                                                                              \
        __m256 scale, zero;                                                                            \
        if (buf) {                                                                                     \
            for (int s = 0; s < SLOTS; s++) {                                                          \
                W[s] = _mm256_load_si256(buf + g * SLOTS + s);                                         \
            }                                                                                          \
            scale = pbuf[2 * g];                                                                       \
            zero = pbuf[2 * g + 1];                                                                    \
        } else {                                                                                       \
            unpack8(rows, g, W);                                                                       \
            params8(pr, g, n, mask, &scale, &zero);                                                    \
        }                                                                                              \
        APPLY(pr, W, scale, zero, g, m0, mt, acc);                                                     \
    }                                                                                                  \
    for (int t = 0; t < mt; t++) {                                                                     \
        _mm256_maskstore_ps(pr->y + (m0 + t) * pr->n + n, mask, acc[t]);                               \
    }                                                                                                  \
}

#define DEFINE_RUN256(TARGET, NAME, TILE) \
__attribute__((target(TARGET)))                                                                                       \
static void NAME(const problem *pr, long n0, long n1, void *scratch) {                                                \
    const long groups = pr->k / GROUP;                                                                                \
    __m256i *buf = (__m256i *) scratch;                                                                               \
    __m256 *pbuf = (__m256 *) (buf + groups * SLOTS);                                                                 \
    for (long n = n0; n < n1; n += 8) {                                                                               \
        const uint8_t *rows[8];                                                                                       \
        long valid = pr->n - n < 8 ? pr->n - n : 8;                                                                   \
        for (int r = 0; r < 8; r++) {                                                                                 \
            rows[r] = pr->w + (n + (r < valid ? r : valid - 1)) * (pr->k / 2);                                        \
        }                                                                                                             \
        __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int) valid), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); \
        const int buffered = pr->m > MT256;                                                                           \
        if (buffered) {                                                                                               \
            for (long g = 0; g < groups; g++) {                                                                       \
                __m256i W[SLOTS];                                                                                     \
                unpack8(rows, g, W);                                                                                  \
                for (int s = 0; s < SLOTS; s++) {                                                                     \
                    _mm256_store_si256(buf + g * SLOTS + s, W[s]);                                                    \
                }                                                                                                     \
                params8(pr, g, n, mask, pbuf + 2 * g, pbuf + 2 * g + 1);                                              \
            }                                                                                                         \
        }                                                                                                             \
        for (long m0 = 0; m0 < pr->m; m0 += MT256) {                                                                  \
            int mt = pr->m - m0 < MT256 ? (int) (pr->m - m0) : MT256;                                                 \
            const __m256i *b = buffered ? buf : NULL;                                                                 \
            const __m256 *pb = buffered ? pbuf : NULL;                                                                \
            switch (mt) {                                                                                             \
                case 1: TILE(pr, rows, mask, n, m0, 1, b, pb); break;                                                 \
                case 2: TILE(pr, rows, mask, n, m0, 2, b, pb); break;                                                 \
                case 3: TILE(pr, rows, mask, n, m0, 3, b, pb); break;                                                 \
                default: TILE(pr, rows, mask, n, m0, 4, b, pb); break;                                                \
            }                                                                                                         \
        }                                                                                                             \
    }                                                                                                                 \
}

DEFINE_TILE8(T256, tile8, apply8)
DEFINE_RUN256("avx2,fma", run256, tile8)

/*
 * The same with AVX-512 VNNI on 256-bit vectors (avx512vl): vpdpbusd does a slot's multiply and sum in one
 * instruction where AVX2 takes three, for CPUs that have it; the 8-row blocks and everything else are the AVX2 path's.
 */
#define T256V __attribute__((target("avx2,fma,avx512f,avx512vl,avx512vnni"), always_inline)) static inline

T256V void apply8v(const problem *pr, const __m256i W[SLOTS], __m256 scale, __m256 zero, long g, long m0, int mt,
                   __m256 acc[MT256]) {
    const long groups = pr->k / GROUP;
    for (int t = 0; t < mt; t++) {
        const int32_t *xs = (const int32_t *) (pr->xq + (m0 + t) * pr->k + g * GROUP);
        __m256i a = _mm256_setzero_si256(), b = _mm256_setzero_si256();
        for (int s = 0; s < SLOTS; s += 2) {
            a = _mm256_dpbusd_epi32(a, W[s], _mm256_set1_epi32(xs[s]));
            b = _mm256_dpbusd_epi32(b, W[s + 1], _mm256_set1_epi32(xs[s + 1]));
        }
        const long i = (m0 + t) * groups + g;
        __m256 sd = _mm256_mul_ps(scale, _mm256_set1_ps(pr->xd[i]));
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(a, b)), sd, acc[t]);
        acc[t] = _mm256_fmadd_ps(zero, _mm256_set1_ps(pr->xds[i]), acc[t]);
    }
}

DEFINE_TILE8(T256V, tile8v, apply8v)
DEFINE_RUN256("avx2,fma,avx512f,avx512vl,avx512vnni", run256v, tile8v)

/* ---------------------------------------------------------------- threads */

/* Per-thread buffer of a row block's unpacked weights and params (at most 80 bytes a column, AVX-512). */
static __thread void *scratch_mem;
static __thread size_t scratch_size;

static void *scratch(size_t bytes) {
    if (bytes > scratch_size) {
        free(scratch_mem);
        scratch_mem = NULL;
        scratch_size = 0;
        if (posix_memalign(&scratch_mem, 64, bytes) != 0) {
            return NULL;
        }
        scratch_size = bytes;
    }
    return scratch_mem;
}

#define QUANT_ROWS 8     /* activation rows a chunk of the quantising phase */
/*
 * Chunks of the product: about CHUNKS_PER_THREAD per thread, each a whole number of ROW_STEP rows (a multiple of both
 * row blocks). Long runs of consecutive rows matter when decoding: a thread then streams one stretch of the weight and
 * its params' lines, which the prefetchers (and the params prefetch, cold at a chunk's start) follow. On this
 * project's 2-core machine (src/test/c/int4_bandwidth.c, 8 layers at 7B widths), 64-row chunks taken in turn read
 * 22-24 GB/s and these 30-32 GB/s, where a plain read of the nibbles reaches 36-37; the few chunks per thread still
 * let the caller take a late worker's share.
 */
#define ROW_STEP 64
#define CHUNKS_PER_THREAD 4

typedef struct {
    const problem *pr;
    const float *x;
    int isa;
    int phase;          /* 0: quantise activation rows, 1: multiply, 2: call fn (emovit_parallel_for) */
    long chunks;
    long rows;          /* rows a chunk of the product */
    void (*fn)(void *ctx, long chunk);
    void *ctx;
} job;

/* Runs chunk c of job j: 0 or -1 (no memory). */
static int run_chunk(const job *j, long c) {
    if (j->phase == 2) {
        j->fn(j->ctx, c);
        return 0;
    }
    const problem *pr = j->pr;
    if (j->phase == 0) {
        long m0 = c * QUANT_ROWS, m1 = m0 + QUANT_ROWS < pr->m ? m0 + QUANT_ROWS : pr->m;
        quantize_rows(j->x, pr->k, m0, m1, (int8_t *) pr->xq, (float *) pr->xd, (float *) pr->xds);
        return 0;
    }
    long a = c * j->rows, b = a + j->rows < pr->n ? a + j->rows : pr->n;
    /* AVX-512 only where a block's unpacked weights serve many rows: with few rows the product streams the nibbles
       and 8-row blocks (8 streams) read memory faster than 16-row ones (16 streams): 0.65 against 1.3-1.5 ms for a
       [1, 11008] x [4096, 11008] product on 2 threads */
    const int wide = j->isa == ISA_AVX512 && pr->m > MT512;
    void *s = NULL;
    if (pr->m > (wide ? MT512 : MT256)) {
        s = scratch((size_t) (pr->k / GROUP) * (SLOTS + 2) * (wide ? 64 : 32));
        if (s == NULL) {
            return -1;
        }
    }
    if (wide) {
        run512(pr, a, b, s);
    } else if (j->isa == ISA_AVX512) {
        run256v(pr, a, b, s);
    } else {
        run256(pr, a, b, s);
    }
    return 0;
}

/*
 * The pool: workers claim chunks of the current job from one counter, as the caller does, so a job never waits for a
 * thread that is not running (on a shared machine a worker may be descheduled for milliseconds: the caller then takes
 * its chunks). The counter holds the job's generation, its chunk count and the next chunk: a claim is a
 * compare-and-swap of that one word, so it fails once the generation moved on (a late worker cannot take a chunk of
 * the next job thinking it is of the last) and never runs past the count (the job itself, read only once a chunk is
 * held, may be being replaced before that).
 */
#define CHUNK_BITS 20
#define CHUNK_MASK ((1ull << CHUNK_BITS) - 1)
#define GEN_OF(s) ((unsigned) ((s) >> (2 * CHUNK_BITS)))
#define CHUNKS_OF(s) ((long) (((s) >> CHUNK_BITS) & CHUNK_MASK))
#define NEXT_OF(s) ((long) ((s) & CHUNK_MASK))
#define MAX_WORKERS 63
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;  /* one caller at a time; others run alone */
static int workers;
static job current;
static _Atomic uint64_t claims;      /* generation (24 bits) | chunks | next chunk (20 bits each) */
static _Atomic unsigned wakeup;      /* the futex workers sleep on: bumped with every job */
static _Atomic int sleepers;
static _Atomic long done;            /* chunks of the current job finished */
static _Atomic int failed;

static void futex_wait(_Atomic unsigned *addr, unsigned expected) {
    syscall(SYS_futex, (unsigned *) addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic unsigned *addr) {
    syscall(SYS_futex, (unsigned *) addr, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

/* Claims and runs chunks of generation gen until none is left. */
static void drain(unsigned gen) {
    for (;;) {
        uint64_t s = atomic_load_explicit(&claims, memory_order_acquire);
        long c = NEXT_OF(s);
        if (GEN_OF(s) != gen || c >= CHUNKS_OF(s)) {
            return;
        }
        if (!atomic_compare_exchange_weak_explicit(&claims, &s, s + 1, memory_order_acq_rel, memory_order_relaxed)) {
            continue;
        }
        job j = current;   /* stable while a chunk of its generation is unfinished, as the one held is */
        if (run_chunk(&j, c) != 0) {
            atomic_store(&failed, 1);
        }
        atomic_fetch_add_explicit(&done, 1, memory_order_release);
    }
}

/* TSC ticks a worker spins for the next job before sleeping: products of a decoding step follow each other closely */
#define SPIN_TICKS 200000ull

static void *worker_main(void *arg) {
    (void) arg;
    unsigned seen = atomic_load(&wakeup);
    for (;;) {
        unsigned long long start = __rdtsc();
        while (atomic_load_explicit(&wakeup, memory_order_acquire) == seen) {
            if (__rdtsc() - start > SPIN_TICKS) {
                atomic_fetch_add(&sleepers, 1);
                if (atomic_load(&wakeup) == seen) {
                    futex_wait(&wakeup, seen);
                }
                atomic_fetch_sub(&sleepers, 1);
                start = __rdtsc();
            } else {
                _mm_pause();
            }
        }
        seen = atomic_load_explicit(&wakeup, memory_order_acquire);
        drain(GEN_OF(atomic_load_explicit(&claims, memory_order_acquire)));
    }
    return NULL;
}

/* Runs every chunk of j with up to threads - 1 workers helping; the lock is held. */
static int run_pooled(const job *j, int threads) {
    while (workers < threads - 1 && workers < MAX_WORKERS) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int ok = pthread_create(&t, &attr, worker_main, NULL) == 0;
        pthread_attr_destroy(&attr);
        if (!ok) {
            break;
        }
        workers++;
    }
    /* no chunk of the last job is held (the caller waited for all of them), so the job can be replaced */
    current = *j;
    atomic_store(&failed, 0);
    atomic_store(&done, 0);
    unsigned gen = (GEN_OF(atomic_load(&claims)) + 1) & 0xffffffu;
    atomic_store(&claims, (uint64_t) gen << (2 * CHUNK_BITS) | (uint64_t) j->chunks << CHUNK_BITS);
    atomic_fetch_add(&wakeup, 1);
    if (atomic_load(&sleepers) > 0) {
        futex_wake_all(&wakeup);
    }
    drain(gen);
    while (atomic_load_explicit(&done, memory_order_acquire) < j->chunks) {
        _mm_pause();
    }
    return atomic_load(&failed) ? -1 : 0;
}

static int run_alone(const job *j) {
    for (long c = 0; c < j->chunks; c++) {
        if (run_chunk(j, c) != 0) {
            return -1;
        }
    }
    return 0;
}

/*
 * EMOVIT_INT4_POOL=openmp: libtorch's own OpenMP team instead of the pool, where libtorch's libgomp is loaded (found
 * by its soname among the libraries already loaded, RTLD_NOLOAD: nothing is linked, no runtime added). Its threads are
 * those libtorch's operators run on, so nothing competes with them for the cores; but its join waits for every team
 * thread, a descheduled one included, where the pool's caller takes the chunks of a thread that has not started. On
 * this shared 2-core machine the two measured alike (loaded: 1.4-3.4 ms against 1.4-3.0 for a one-row product at 7B
 * widths), so the pool, which needs nothing of libtorch, is the default.
 */
typedef void (*gomp_parallel_fn)(void (*fn)(void *), void *data, unsigned threads, unsigned flags);
static gomp_parallel_fn gomp_parallel;
static pthread_once_t gomp_once = PTHREAD_ONCE_INIT;

static void find_gomp(void) {
    const char *pool = getenv("EMOVIT_INT4_POOL");
    if (pool == NULL || strcmp(pool, "openmp") != 0) {
        return;
    }
    void *h = dlopen("libgomp.so.1", RTLD_LAZY | RTLD_NOLOAD);
    if (h != NULL) {
        gomp_parallel = (gomp_parallel_fn) dlsym(h, "GOMP_parallel");
    }
}

typedef struct {
    const job *j;
    _Atomic long next;
    _Atomic int failed;
} team_job;

static void team_body(void *arg) {
    team_job *t = (team_job *) arg;
    long c;
    while ((c = atomic_fetch_add_explicit(&t->next, 1, memory_order_relaxed)) < t->j->chunks) {
        if (run_chunk(t->j, c) != 0) {
            atomic_store(&t->failed, 1);
        }
    }
}

static int run_team(const job *j, int threads) {
    team_job t = {j, 0, 0};
    gomp_parallel(team_body, &t, (unsigned) threads, 0);
    return atomic_load(&t.failed) ? -1 : 0;
}

/* ---------------------------------------------------------------- entry points */

static int detect(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        return ISA_NONE;
    }
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
            && __builtin_cpu_supports("avx512vnni")) {
        return ISA_AVX512;
    }
    return ISA_AVX2;
}

/* 0 ok; -1 bad arguments or no memory; -2 the ISA asked for is missing. */
int emovit_int4_mm(const uint8_t *w, const uint16_t *p, int per, long n, long k, const float *x, long m, float *y,
                   int threads, int isa) {
    int have = detect();
    if (isa == 0) {
        isa = have;
    }
    if (isa == ISA_NONE || isa > have) {
        return -2;
    }
    if (n <= 0 || m <= 0 || k <= 0 || k % GROUP != 0 || (per != 1 && per != 2)) {
        return -1;
    }
    static __thread int8_t *xq;
    static __thread float *xf;
    static __thread size_t xq_size, xf_size;
    long groups = k / GROUP;
    if ((size_t) (m * k) > xq_size) {
        free(xq);
        xq = NULL;
        xq_size = 0;
        if (posix_memalign((void **) &xq, 64, (size_t) (m * k)) != 0) {
            return -1;
        }
        xq_size = (size_t) (m * k);
    }
    if ((size_t) (2 * m * groups) > xf_size) {
        free(xf);
        xf = malloc(sizeof(float) * (size_t) (2 * m * groups));
        xf_size = xf ? (size_t) (2 * m * groups) : 0;
        if (!xf) {
            return -1;
        }
    }
    problem pr = {w, p, xq, xf, xf + m * groups, y, n, k, m, per};
    job quant = {&pr, x, isa, 0, (m + QUANT_ROWS - 1) / QUANT_ROWS, 0, NULL, NULL};
    if (threads < 1) {
        threads = 1;
    }
    long chunk_rows = (n + (long) threads * CHUNKS_PER_THREAD - 1) / ((long) threads * CHUNKS_PER_THREAD);
    chunk_rows = (chunk_rows + ROW_STEP - 1) / ROW_STEP * ROW_STEP;
    job mul = {&pr, x, isa, 1, (n + chunk_rows - 1) / chunk_rows, chunk_rows, NULL, NULL};
    pthread_once(&gomp_once, find_gomp);
    if (mul.chunks > (long) CHUNK_MASK || quant.chunks > (long) CHUNK_MASK) {
        threads = 1;   /* more chunks than the claim counter holds: beyond any model's widths */
    }
    if (threads > 1 && mul.chunks > 1 && gomp_parallel != NULL) {
        int rc = quant.chunks > 1 ? run_team(&quant, threads) : run_alone(&quant);
        return rc != 0 ? rc : run_team(&mul, threads);
    }
    if (threads > 1 && mul.chunks > 1 && pthread_mutex_trylock(&pool_lock) == 0) {
        int rc = quant.chunks > 1 ? run_pooled(&quant, threads) : run_alone(&quant);
        if (rc == 0) {
            rc = run_pooled(&mul, threads);
        }
        pthread_mutex_unlock(&pool_lock);
        return rc;
    }
    int rc = run_alone(&quant);
    return rc != 0 ? rc : run_alone(&mul);
}

/*
 * fn(ctx, c) for every chunk c in [0, chunks), on the pool's threads (the decoding step's attention, emovit_decode.c);
 * alone where another caller holds the pool. fn must not fail.
 */
__attribute__((visibility("hidden")))
void emovit_parallel_for(void (*fn)(void *ctx, long chunk), void *ctx, long chunks, int threads) {
    job j = {NULL, NULL, 0, 2, chunks, 0, fn, ctx};
    if (threads > 1 && chunks > 1 && chunks <= (long) CHUNK_MASK && pthread_mutex_trylock(&pool_lock) == 0) {
        run_pooled(&j, threads);
        pthread_mutex_unlock(&pool_lock);
        return;
    }
    run_alone(&j);
}

JNIEXPORT jint JNICALL Java_org_emovit_model_quant_NativeInt4_isa0(JNIEnv *env, jclass cls) {
    (void) env;
    (void) cls;
    return detect();
}

JNIEXPORT jint JNICALL Java_org_emovit_model_quant_NativeInt4_mm(JNIEnv *env, jclass cls, jlong w, jlong p, jint per,
        jlong n, jlong k, jlong x, jlong m, jlong y, jint threads, jint isa) {
    (void) env;
    (void) cls;
    return emovit_int4_mm((const uint8_t *) (intptr_t) w, (const uint16_t *) (intptr_t) p, per, (long) n, (long) k,
                          (const float *) (intptr_t) x, (long) m, (float *) (intptr_t) y, threads, isa);
}

/*
 * Asks the kernel to back [address, address + bytes) with 2 MB pages where it can (madvise MADV_HUGEPAGE, widened to
 * whole 4 KB pages, which never leaves the mapping the bytes are in). A decoding step streams every weight once, and
 * with 4 KB pages it misses the TLB every 4 KB: 2 MB pages made the same products about 10% faster here. Given before
 * the bytes are first touched, a mapped file's page cache is then read in 2 MB folios and anonymous memory faults in
 * whole huge pages; pages already present keep their size, which {@code collapse} (anonymous memory only: memory the
 * allocator reused) then copies into huge pages now (MADV_COLLAPSE, the 2 MB blocks wholly inside the range). 0, or
 * errno (a hint: callers ignore failure).
 */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
JNIEXPORT jint JNICALL Java_org_emovit_model_quant_NativeInt4_adviseHugePages(JNIEnv *env, jclass cls, jlong address, jlong bytes,
        jint collapse) {
    (void) env;
    (void) cls;
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t) address & ~(uintptr_t) (page - 1);
    uintptr_t end = ((uintptr_t) address + (uintptr_t) bytes + (uintptr_t) page - 1) & ~(uintptr_t) (page - 1);
    if (bytes <= 0 || end <= start) {
        return 0;
    }
    if (madvise((void *) start, end - start, MADV_HUGEPAGE) != 0) {
        return errno;
    }
    uintptr_t huge = (uintptr_t) 2 << 20, first = (start + huge - 1) & ~(huge - 1), last = end & ~(huge - 1);
    return collapse && last > first && madvise((void *) first, last - first, MADV_COLLAPSE) != 0 ? errno : 0;
}

/*
 * One decoding step of the LLaMA decoder (LlamaDecoder) whose seven Linear weights per layer are all emovit's stored
 * 4-bit ones (emovit_int4.c): B rows of one new position each, their keys and values in a RowSlotCache's buffers.
 *
 * Why in C: at one position a layer's arithmetic outside the seven products is tiny (two RMSNorms over D, rotary over
 * q and k, attention over the cached keys, SwiGLU over the feed-forward width), but through libtorch it was some sixty
 * operator calls a layer, each dispatched from Java and each waking the OpenMP team: 70 ms of a 265 ms step at 7B
 * widths on a 2-core machine, where the products took 194 (emovit bench's decode split). Here the step is the products
 * and a few loops over vectors that are already in cache.
 *
 * The layer is HF's LlamaDecoderLayer, computed as LlamaDecoder computes it in float32: the residual stream and every
 * intermediate vector stay float32 (the libtorch path rounds each to the model's dtype when that is bf16), and only
 * what the cache keeps (keys after rotary, values) is stored in the model's dtype. Products take float32 activations,
 * as the 4-bit kernel always does.
 *
 * Operands, addresses from the Java side (contiguous, kept alive by it for the call):
 *   table   int64 [layers, TABLE_WIDTH]: input norm, post-attention norm (model dtype [D]), then values and params
 *           of q, k, v, o, gate, up, down (Int4Format: U8 [N, K/2], BF16 [K/32, N, 2])
 *   caches  int64 [layers, 2]: the key and value buffers, model dtype [slots, kvHeads, columns, headDim]
 *   mask    int64 [slots, columns] 0/1, this step's column already set; write int64 [B]: each row's new column
 *   cos, sin  model dtype [tableRows, headDim]: cos and rotate-half-signed sin of every position (LlamaDecoder's tables)
 *   h       float32 [B, D]: the new positions' embeddings in, the last layer's output out (before the final norm)
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <time.h>

typedef int32_t jint;
typedef int64_t jlong;
typedef float jfloat;
typedef void JNIEnv;
typedef void *jclass;
#define JNIEXPORT __attribute__((visibility("default")))
#define JNICALL

int emovit_int4_mm(const uint8_t *w, const uint16_t *p, int per, long n, long k, const float *x, long m, float *y, int threads, int isa);
void emovit_parallel_for(void (*fn)(void *ctx, long chunk), void *ctx, long chunks, int threads);

enum { W_Q, W_K, W_V, W_O, W_GATE, W_UP, W_DOWN, WEIGHTS };
#define TABLE_WIDTH (2 + 2 * WEIGHTS)

typedef struct {
    long d, ff, heads, kv_heads, head_dim;
    float eps;
    int bf16;           /* the model's dtype: 1 bf16, 0 float32 (norms, tables and cache) */
    int per;            /* the weights' params per group: 2 affine, 1 symmetric (Int4Format's schemes) */
    int threads, isa;
} dims;

/* ---------------------------------------------------------------- the model's dtype */

static inline float bf16_to_f32(uint16_t v) {
    uint32_t u = (uint32_t) v << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Round to nearest even, as libtorch's float -> bf16 cast (NaN stays NaN). */
static inline uint16_t f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return (uint16_t) ((u >> 16) | 0x40);
    }
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t) (u >> 16);
}

static inline float load(const void *p, long i, int bf16) {
    return bf16 ? bf16_to_f32(((const uint16_t *) p)[i]) : ((const float *) p)[i];
}

static inline void store(void *p, long i, float v, int bf16) {
    if (bf16) {
        ((uint16_t *) p)[i] = f32_to_bf16(v);
    } else {
        ((float *) p)[i] = v;
    }
}

/* 8 values of the model's dtype at p + i as float32. */
__attribute__((target("avx2,fma"), always_inline)) static inline __m256 load8(const void *p, long i, int bf16) {
    if (!bf16) {
        return _mm256_loadu_ps((const float *) p + i);
    }
    __m128i h = _mm_loadu_si128((const __m128i *) ((const uint16_t *) p + i));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* ---------------------------------------------------------------- vector steps */

/* HF's LlamaRMSNorm: x * rsqrt(mean(x^2) + eps) * weight, rows of d. */
static void rms_norm(const float *x, const void *weight, long rows, long d, float eps, int bf16, float *out) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * d;
        double sum = 0;
        for (long i = 0; i < d; i++) {
            sum += (double) xr[i] * xr[i];
        }
        float inv = 1.0f / sqrtf((float) (sum / d) + eps);
        for (long i = 0; i < d; i++) {
            out[r * d + i] = xr[i] * inv * load(weight, i, bf16);
        }
    }
}

/* x * cos + rotate_half(x) * sin for each head of each row, at that row's position (sin carries rotate-half's sign). */
static void rotary(float *x, long rows, long heads, long hd, const void *cos_t, const void *sin_t, const int64_t *pos, int bf16) {
    const long half = hd / 2;
    float tmp[hd];
    for (long r = 0; r < rows; r++) {
        long at = pos[r] * hd;
        for (long h = 0; h < heads; h++) {
            float *v = x + (r * heads + h) * hd;
            for (long i = 0; i < hd; i++) {
                tmp[i] = v[i] * load(cos_t, at + i, bf16) + v[(i + half) % hd] * load(sin_t, at + i, bf16);
            }
            memcpy(v, tmp, sizeof(float) * hd);
        }
    }
}

/* e^x for 8 floats (Cephes' expf: x = k ln2 + r, |r| <= ln2/2, a degree-6 polynomial for e^r, 2^k in the exponent;
   about 1 ulp), x clamped to where float32 holds the result. */
__attribute__((target("avx2,fma"), always_inline)) static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 y = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

/* silu(gate) * up, in place in gate: g / (1 + e^-g) * u (the feed-forward's width of exponentials, 8 at a time). */
__attribute__((target("avx2,fma")))
static void swiglu(float *gate, const float *up, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(gate + i);
        __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
        __m256 silu = _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) {
        float g = gate[i];
        gate[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

/* ---------------------------------------------------------------- attention */

typedef struct {
    const float *q;            /* [B, heads, hd] */
    float *out;                /* [B, heads, hd] */
    float *scores;             /* [B, heads, attend]: each (row, head)'s own */
    const void *keys, *values; /* [slots, kvHeads, columns, hd] */
    const int64_t *mask;       /* [slots, columns] */
    long heads, kv_heads, hd, columns, attend;
    float scale;
    int bf16;
} attention_job;

__attribute__((target("avx2,fma")))
static float dot(const float *q, const void *k, long i0, long hd, int bf16) {
    __m256 acc = _mm256_setzero_ps();
    long i = 0;
    for (; i + 8 <= hd; i += 8) {
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8(k, i0 + i, bf16), acc);
    }
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    float sum = _mm_cvtss_f32(s);
    for (; i < hd; i++) {
        sum += q[i] * load(k, i0 + i, bf16);
    }
    return sum;
}

__attribute__((target("avx2,fma")))
static void axpy(float a, const void *v, long i0, long hd, int bf16, float *out) {
    long i = 0;
    __m256 av = _mm256_set1_ps(a);
    for (; i + 8 <= hd; i += 8) {
        _mm256_storeu_ps(out + i, _mm256_fmadd_ps(av, load8(v, i0 + i, bf16), _mm256_loadu_ps(out + i)));
    }
    for (; i < hd; i++) {
        out[i] += a * load(v, i0 + i, bf16);
    }
}

/* softmax(q k^T * scale, masked keys excluded) v for one (row, head): chunk = row * heads + head. */
static void attend_head(void *arg, long chunk) {
    const attention_job *a = (const attention_job *) arg;
    const long b = chunk / a->heads, h = chunk % a->heads, g = h / (a->heads / a->kv_heads);
    const float *q = a->q + chunk * a->hd;
    float *out = a->out + chunk * a->hd;
    const long base = (b * a->kv_heads + g) * a->columns * a->hd;
    const int64_t *mask = a->mask + b * a->columns;
    float *scores = a->scores + chunk * a->attend;
    float max = -INFINITY;
    for (long j = 0; j < a->attend; j++) {
        scores[j] = mask[j] ? dot(q, a->keys, base + j * a->hd, a->hd, a->bf16) * a->scale : -INFINITY;
        max = scores[j] > max ? scores[j] : max;
    }
    memset(out, 0, sizeof(float) * a->hd);
    double sum = 0;
    for (long j = 0; j < a->attend; j++) {
        if (scores[j] != -INFINITY) {
            float p = expf(scores[j] - max);
            sum += p;
            axpy(p, a->values, base + j * a->hd, a->hd, a->bf16, out);
        }
    }
    float inv = sum > 0 ? (float) (1.0 / sum) : 0.0f;
    for (long i = 0; i < a->hd; i++) {
        out[i] *= inv;
    }
}

/* The residual connection: h += y. */
static void add_into(float *h, const float *y, long n) {
    for (long i = 0; i < n; i++) {
        h[i] += y[i];
    }
}

/* ---------------------------------------------------------------- the step */

/* Nanoseconds spent in the steps' products (what `emovit bench` splits a step by, with the Java side's own products). */
static _Atomic int64_t product_nanos;

static int64_t now_nanos(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t) t.tv_sec * 1000000000 + t.tv_nsec;
}

static int product(const int64_t *layer, int which, const float *x, long m, long n, long k, float *y, const dims *dm) {
    int64_t start = now_nanos();
    int rc = emovit_int4_mm((const uint8_t *) (intptr_t) layer[2 + 2 * which], (const uint16_t *) (intptr_t) layer[3 + 2 * which],
                            dm->per, n, k, x, m, y, dm->threads, dm->isa);
    atomic_fetch_add_explicit(&product_nanos, now_nanos() - start, memory_order_relaxed);
    return rc;
}

/* 0 ok; -1 no memory; -2 the 4-bit product failed (its ISA missing); -3 a position past the rotary table. */
static int decode_step(const int64_t *table, long layers, const dims *dm, float *h, long b, const void *cos_t, const void *sin_t,
                       long table_rows, const int64_t *pos, const int64_t *caches, long columns, const int64_t *mask, long attend,
                       const int64_t *write) {
    const long d = dm->d, ff = dm->ff, hd = dm->head_dim, qw = dm->heads * hd, kvw = dm->kv_heads * hd;
    for (long r = 0; r < b; r++) {
        if (pos[r] < 0 || pos[r] >= table_rows || write[r] < 0 || write[r] >= columns) {
            return -3;
        }
    }
    /* every vector of the step, and the attention scores of each (row, head) over the attended columns */
    float *mem = malloc(sizeof(float) * (size_t) (b * (2 * d + 2 * qw + 2 * kvw + 2 * ff + dm->heads * attend)));
    if (mem == NULL) {
        return -1;
    }
    float *x = mem, *q = x + b * d, *k = q + b * qw, *v = k + b * kvw, *att = v + b * kvw, *gate = att + b * qw, *up = gate + b * ff,
          *y = up + b * ff, *scores = y + b * d;
    int rc = 0;
    for (long l = 0; l < layers && rc == 0; l++) {
        const int64_t *layer = table + l * TABLE_WIDTH;
        void *keys = (void *) (intptr_t) caches[2 * l], *values = (void *) (intptr_t) caches[2 * l + 1];
        rms_norm(h, (const void *) (intptr_t) layer[0], b, d, dm->eps, dm->bf16, x);
        if ((rc = product(layer, W_Q, x, b, qw, d, q, dm)) || (rc = product(layer, W_K, x, b, kvw, d, k, dm))
                || (rc = product(layer, W_V, x, b, kvw, d, v, dm))) {
            break;
        }
        rotary(q, b, dm->heads, hd, cos_t, sin_t, pos, dm->bf16);
        rotary(k, b, dm->kv_heads, hd, cos_t, sin_t, pos, dm->bf16);
        for (long r = 0; r < b; r++) {
            for (long g = 0; g < dm->kv_heads; g++) {
                long at = ((r * dm->kv_heads + g) * columns + write[r]) * hd;
                for (long i = 0; i < hd; i++) {
                    store(keys, at + i, k[(r * dm->kv_heads + g) * hd + i], dm->bf16);
                    store(values, at + i, v[(r * dm->kv_heads + g) * hd + i], dm->bf16);
                }
            }
        }
        attention_job a = {q, att, scores, keys, values, mask, dm->heads, dm->kv_heads, hd, columns, attend, 1.0f / sqrtf((float) hd),
                           dm->bf16};
        emovit_parallel_for(attend_head, &a, b * dm->heads, dm->threads);
        if ((rc = product(layer, W_O, att, b, d, qw, y, dm))) {
            break;
        }
        add_into(h, y, b * d);
        rms_norm(h, (const void *) (intptr_t) layer[1], b, d, dm->eps, dm->bf16, x);
        if ((rc = product(layer, W_GATE, x, b, ff, d, gate, dm)) || (rc = product(layer, W_UP, x, b, ff, d, up, dm))) {
            break;
        }
        swiglu(gate, up, b * ff);
        if ((rc = product(layer, W_DOWN, gate, b, d, ff, y, dm))) {
            break;
        }
        add_into(h, y, b * d);
    }
    free(mem);
    return rc == 0 ? 0 : rc == -2 ? -2 : -1;
}

JNIEXPORT jlong JNICALL Java_org_emovit_model_quant_NativeInt4_stepProductNanos(JNIEnv *env, jclass cls) {
    (void) env;
    (void) cls;
    return atomic_load(&product_nanos);
}

JNIEXPORT jint JNICALL Java_org_emovit_model_quant_NativeInt4_decodeStep(JNIEnv *env, jclass cls, jlong table, jlong layers,
        jlong d, jlong ff, jlong heads, jlong kv_heads, jlong head_dim, jfloat eps, jint bf16, jint per, jlong h, jlong b, jlong cos_t,
        jlong sin_t, jlong table_rows, jlong pos, jlong caches, jlong columns, jlong mask, jlong attend, jlong write,
        jint threads, jint isa) {
    (void) env;
    (void) cls;
    dims dm = {d, ff, heads, kv_heads, head_dim, eps, bf16, per, threads, isa};
    return decode_step((const int64_t *) (intptr_t) table, layers, &dm, (float *) (intptr_t) h, b, (const void *) (intptr_t) cos_t,
                       (const void *) (intptr_t) sin_t, table_rows, (const int64_t *) (intptr_t) pos,
                       (const int64_t *) (intptr_t) caches, columns, (const int64_t *) (intptr_t) mask, attend,
                       (const int64_t *) (intptr_t) write);
}

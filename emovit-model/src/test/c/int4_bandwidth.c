/*
 * How fast the native 4-bit product decodes at 7B widths, against a plain read of the same bytes: one activation row
 * through L layers' q, k, v, o, gate, up and down weights (distinct buffers, so every product reads memory, as a
 * decoding step does), on T threads. Not part of the Maven build; run after changing the decode path or the chunking:
 *   gcc -O3 -mavx2 emovit-model/src/main/c/emovit_int4.c emovit-model/src/test/c/int4_bandwidth.c -lpthread -ldl \
 *       -o /tmp/int4_bandwidth && /tmp/int4_bandwidth 8 2
 * Arguments: layers (8: 1.1 GB), threads (2), isa (2 = AVX-512 VNNI, 1 = AVX2). GB/s counts the nibbles and params.
 * Runs alternate between affine params (a scale and zero a group: 5 bits a weight) and symmetric ones (a scale: 4.5).
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "int4_test_weights.h"

int emovit_int4_mm(const uint8_t *w, const uint16_t *p, int per, long n, long k, const float *x, long m, float *y, int threads,
                   int isa);


static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

typedef struct {
    const uint8_t *bytes;
    long length;
    long long sum;
} reading;

static void *read_all(void *arg) {
    reading *r = arg;
    __m256i s = _mm256_setzero_si256();
    for (long i = 0; i + 64 <= r->length; i += 64) {
        s = _mm256_add_epi64(s, _mm256_load_si256((const __m256i *) (r->bytes + i)));
        s = _mm256_add_epi64(s, _mm256_load_si256((const __m256i *) (r->bytes + i + 32)));
    }
    r->sum = _mm256_extract_epi64(s, 0);
    return NULL;
}

int main(int argc, char **argv) {
    int layers = argc > 1 ? atoi(argv[1]) : 8, threads = argc > 2 ? atoi(argv[2]) : 2, isa = argc > 3 ? atoi(argv[3]) : 2;
    if (layers < 1 || threads < 1 || threads > 64) {
        fprintf(stderr, "usage: int4_bandwidth [layers >= 1] [threads 1..64] [isa 1|2]\n");
        return 2;
    }
    int count = 7 * layers;
    uint8_t **w;
    uint16_t **p;
    if (make_weights(layers, 2, &w, &p) != 0) {   /* room for affine params; symmetric runs read the first half */
        fprintf(stderr, "int4_bandwidth: out of memory\n");
        return 1;
    }
    double nibbles = 0;
    for (int i = 0; i < count; i++) {
        nibbles += SHAPES[i % 7][0] * SHAPES[i % 7][1] / 2;
    }
    float *x = make_row(), *y = aligned_alloc(64, 11008 * sizeof(float));
    for (int run = 0; run < 8; run++) {
        int per = run % 2 == 0 ? 2 : 1;
        double bytes = nibbles * (per == 2 ? 1.25 : 1.125);
        double t = now_ms();
        for (int i = 0; i < count; i++) {
            int rc = emovit_int4_mm(w[i], p[i], per, SHAPES[i % 7][0], SHAPES[i % 7][1], x, 1, y, threads, isa);
            if (rc != 0) {
                fprintf(stderr, "int4_bandwidth: product failed (%d): isa %d missing?\n", rc, isa);
                return 1;
            }
        }
        double ms = now_ms() - t;
        printf("int4 decode, %s params, %d layers, %d threads: %.1f ms (%.2f ms a layer), %.1f GB/s\n",
               per == 2 ? "affine   " : "symmetric", layers, threads, ms, ms / layers, bytes / ms / 1e6);
    }
    for (int run = 0; run < 3; run++) {
        double t = now_ms();
        for (int i = 0; i < count; i++) {
            long length = SHAPES[i % 7][0] * SHAPES[i % 7][1] / 2 / threads / 64 * 64;
            pthread_t helpers[64];
            reading parts[64];
            for (int h = 0; h < threads; h++) {
                parts[h] = (reading) {w[i] + length * h, length, 0};
                pthread_create(&helpers[h], NULL, read_all, &parts[h]);
            }
            for (int h = 0; h < threads; h++) {
                pthread_join(helpers[h], NULL);
            }
        }
        double ms = now_ms() - t;
        printf("plain read of the nibbles, %d threads: %.1f ms, %.1f GB/s\n", threads, ms, nibbles / ms / 1e6);
    }
    return 0;
}

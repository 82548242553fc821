/*
 * The native 4-bit product's thread pool under stress: random small products, each on 1 thread and on 2-4, must agree
 * to the bit (every chunk is computed the same way whichever thread runs it). Jobs follow each other as fast as C
 * calls them, which finds races a Java loop's pace misses. Not part of the Maven build; run after changing the pool:
 *   gcc -O3 emovit-model/src/main/c/emovit_int4.c emovit-model/src/test/c/int4_stress.c -lpthread -ldl -o /tmp/int4_stress
 *   for s in 1 2 3 4 5 6; do /tmp/int4_stress $s 30000 || break; done
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int emovit_int4_mm(const uint8_t *w, const uint16_t *p, int per, long n, long k, const float *x, long m, float *y, int threads,
                   int isa);

int main(int argc, char **argv) {
    unsigned seed = argc > 1 ? (unsigned) atoi(argv[1]) : 1;
    int iterations = argc > 2 ? atoi(argv[2]) : 20000;
    const long maxn = 700, maxk = 640, maxm = 20;
    srand(seed);
    uint8_t *w = malloc(maxn * maxk / 2);
    uint16_t *p = malloc(maxn * maxk / 32 * 2 * sizeof(uint16_t));
    float *x = malloc(maxm * maxk * sizeof(float)), *y1 = malloc(maxm * maxn * sizeof(float)), *y2 = malloc(maxm * maxn * sizeof(float));
    for (long i = 0; i < maxn * maxk / 2; i++) {
        w[i] = (uint8_t) rand();
    }
    for (long i = 0; i < maxn * maxk / 32 * 2; i++) {
        p[i] = (uint16_t) (0x3c00 + (rand() & 0xff));   /* bf16 around 0.008 */
    }
    for (long i = 0; i < maxm * maxk; i++) {
        x[i] = (float) rand() / RAND_MAX - 0.5f;
    }
    for (int it = 0; it < iterations; it++) {
        /* the operands are prefixes of the buffers above, laid out for their own n and k */
        long n = 1 + rand() % maxn, k = 32 * (1 + rand() % (maxk / 32)), m = 1 + rand() % maxm;
        int threads = 2 + rand() % 3, isa = 1 + rand() % 2, per = 1 + rand() % 2;   /* symmetric or affine params */
        int a = emovit_int4_mm(w, p, per, n, k, x, m, y1, 1, isa), b = emovit_int4_mm(w, p, per, n, k, x, m, y2, threads, isa);
        if (a == -2) {
            continue;   /* this CPU lacks the variant */
        }
        if (a != 0 || b != 0 || memcmp(y1, y2, m * n * sizeof(float)) != 0) {
            printf("seed %u, iteration %d: [%ld, %ld] x [%ld, %ld] on %d threads, isa %d, %d params a group: differs from 1 thread\n",
                   seed, it, m, k, n, k, threads, isa, per);
            return 1;
        }
    }
    printf("seed %u: %d products agree\n", seed, iterations);
    return 0;
}

/*
 * Two or three builds of the native 4-bit product compared on this machine, alternating within one process: a shared
 * machine's speed drifts by 20-30% within minutes, so separate runs of each build cannot tell a 10% change from the
 * drift, and alternating rounds can. Each build is the same source compiled with other constants and its exported
 * names renamed (so the three link together); one activation row through L layers of 7B-width weights, 2 threads.
 * Not part of the Maven build. For example, the row prefetch distance (emovit_int4.c's PREFETCH):
 *   c=emovit-model/src/main/c/emovit_int4.c
 *   j=/usr/lib/jvm/java-17-openjdk-amd64/include; J="-I$j -I$j/linux"
 *   r() { echo "-Demovit_int4_mm=emovit_int4_mm_$1 -Demovit_parallel_for=pf_$1 -DJava_org_emovit_model_quant_NativeInt4_isa0=isa0_$1 -DJava_org_emovit_model_quant_NativeInt4_mm=mm_$1 -DJava_org_emovit_model_quant_NativeInt4_adviseHugePages=ahp_$1"; }
 *   gcc -O3 $J -c $c -o /tmp/v0.o $(r A)
 *   gcc -O3 $J -c $c -o /tmp/v1.o $(r B) -DPREFETCH=128
 *   gcc -O3 $J -c $c -o /tmp/v2.o $(r C) -DPREFETCH=512
 *   gcc -O3 emovit-model/src/test/c/int4_variants.c /tmp/v0.o /tmp/v1.o /tmp/v2.o -lpthread -ldl -o /tmp/int4_variants
 *   /tmp/int4_variants 32 base prefetch128 prefetch512
 * Arguments: layers, then the three builds' names for the report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "int4_test_weights.h"

typedef int (*product)(const uint8_t *, const uint16_t *, int, long, long, const float *, long, float *, int, int);
int emovit_int4_mm_A(const uint8_t *, const uint16_t *, int, long, long, const float *, long, float *, int, int);
int emovit_int4_mm_B(const uint8_t *, const uint16_t *, int, long, long, const float *, long, float *, int, int);
int emovit_int4_mm_C(const uint8_t *, const uint16_t *, int, long, long, const float *, long, float *, int, int);

/* Rounds timed; one more runs first and is not counted: the first call of all pays for the pool's threads, the
   activation buffers and cold caches, which made whichever build ran first 5-20% slower than an identical build. */
#define ROUNDS 12

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    int layers = argc > 1 ? atoi(argv[1]) : 16, count = 7 * layers;
    const char *names[3] = {argc > 2 ? argv[2] : "A", argc > 3 ? argv[3] : "B", argc > 4 ? argv[4] : "C"};
    product builds[3] = {emovit_int4_mm_A, emovit_int4_mm_B, emovit_int4_mm_C};
    uint8_t **w;
    uint16_t **p;
    if (make_weights(layers, 1, &w, &p) != 0) {   /* symmetric: one bf16 scale a group */
        fprintf(stderr, "int4_variants: out of memory\n");
        return 1;
    }
    float *x = make_row(), *y = aligned_alloc(64, 11008 * sizeof(float));
    double total[3] = {0};
    for (int round = -1; round < ROUNDS; round++) {
        for (int v = 0; v < 3; v++) {
            int b = (v + round + 3) % 3;   /* each build in each position of a round in turn */
            double t = now_ms();
            for (int i = 0; i < count; i++) {
                if (builds[b](w[i], p[i], 1, SHAPES[i % 7][0], SHAPES[i % 7][1], x, 1, y, 2, 0) != 0) {
                    fprintf(stderr, "int4_variants: product failed\n");
                    return 1;
                }
            }
            if (round >= 0) {
                total[b] += now_ms() - t;
            }
        }
    }
    for (int b = 0; b < 3; b++) {
        printf("%s: %.1f ms for %d layers, mean of %d rounds\n", names[b], total[b] / ROUNDS, layers, ROUNDS);
    }
    return 0;
}

/*
 * What the C harnesses beside this file multiply by: the q, k, v, o, gate, up and down weights of L layers at 7B widths,
 * each in buffers of its own (so that every product reads memory, as a decoding step does), with patterned levels and
 * bf16 params around 0.008, and one activation row. Header-only: each harness is one program built by hand.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const long SHAPES[7][2] = {{4096, 4096}, {4096, 4096}, {4096, 4096}, {4096, 4096},
                                  {11008, 4096}, {11008, 4096}, {4096, 11008}};

/* 7 * layers weights into w and p (per params a group and row: 2 affine, 1 symmetric); 0, or -1 out of memory. */
static int make_weights(int layers, int per, uint8_t ***w, uint16_t ***p) {
    int count = 7 * layers;
    *w = malloc(count * sizeof **w);
    *p = malloc(count * sizeof **p);
    if (*w == NULL || *p == NULL) {
        return -1;
    }
    for (int i = 0; i < count; i++) {
        long n = SHAPES[i % 7][0], k = SHAPES[i % 7][1];
        (*w)[i] = aligned_alloc(64, n * k / 2);
        (*p)[i] = aligned_alloc(64, n * k / 32 * 2 * per);
        if ((*w)[i] == NULL || (*p)[i] == NULL) {
            return -1;
        }
        for (long j = 0; j < n * k / 2; j++) {
            (*w)[i][j] = (uint8_t) (j * 2654435761u >> 13);
        }
        for (long j = 0; j < n * k / 32 * per; j++) {
            (*p)[i][j] = (uint16_t) (0x3c00 + (j & 0xff));
        }
    }
    return 0;
}

/* One activation row as wide as the widest weight. */
static float *make_row(void) {
    float *x = aligned_alloc(64, 11008 * sizeof(float));
    for (int i = 0; x != NULL && i < 11008; i++) {
        x[i] = (float) (i % 17) - 8;
    }
    return x;
}

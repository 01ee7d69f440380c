/*
 * testkit_random.h - the test kit's seeded numbers (xorshift32): the one
 * generator behind every generated case of the tests, `mha verify` and
 * `mha bench`. Needs neither libmha nor a plugin, so the reference plugin's
 * unit tests use it too.
 */
#ifndef MHA_TESTKIT_RANDOM_H
#define MHA_TESTKIT_RANDOM_H

#include <stddef.h>
#include <stdint.h>

typedef struct tk_rng {
    uint32_t state; /* never 0 */
} tk_rng;

/* A generator for `seed`; `stream` picks one of several independent uses of
 * one seed (tk_case: 1 draws the configuration, 2 the data). */
tk_rng tk_rng_make(uint32_t seed, uint32_t stream);
uint32_t tk_next(tk_rng *r);
/* Uniform in 0..n-1 (n >= 1). */
int tk_pick(tk_rng *r, int n);
/* Uniform in lo..hi, both included. */
int tk_range(tk_rng *r, int lo, int hi);
/* Uniform in [0, 1), 24 bits. */
float tk_uniform(tk_rng *r);
/* n values uniform in [-scale, scale). */
void tk_fill(tk_rng *r, float *data, size_t n, float scale);
/* tk_fill with a fresh generator for `seed`: values in [-1, 1). */
void tk_fill_seed(float *data, size_t n, uint32_t seed);

#endif

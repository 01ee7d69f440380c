/* testkit_random.c - see testkit_random.h. */
#include "testkit_random.h"

/* Odd multipliers and offsets per stream: a seed's streams differ. */
static const uint32_t stream_mul[] = {1664525u, 2654435761u, 747796405u};
static const uint32_t stream_add[] = {1013904223u, 12345u, 2891336453u};

tk_rng tk_rng_make(uint32_t seed, uint32_t stream)
{
    const uint32_t k = stream % 3u;
    tk_rng r = {seed * stream_mul[k] + stream_add[k]};
    if (r.state == 0)
        r.state = 1;
    return r;
}

uint32_t tk_next(tk_rng *r)
{
    uint32_t x = r->state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    r->state = x;
    return x;
}

int tk_pick(tk_rng *r, int n) { return (int)(tk_next(r) % (uint32_t)n); }

int tk_range(tk_rng *r, int lo, int hi) { return lo + tk_pick(r, hi - lo + 1); }

float tk_uniform(tk_rng *r) { return (float)(tk_next(r) >> 8) * (1.0f / 16777216.0f); }

void tk_fill(tk_rng *r, float *data, size_t n, float scale)
{
    for (size_t i = 0; i < n; ++i)
        data[i] = (2.0f * tk_uniform(r) - 1.0f) * scale;
}

void tk_fill_seed(float *data, size_t n, uint32_t seed)
{
    tk_rng r = tk_rng_make(seed, 0);
    tk_fill(&r, data, n, 1.0f);
}

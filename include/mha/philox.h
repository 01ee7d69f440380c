/*
 * philox.h - the dropout random stream shared by every mha plugin.
 *
 * Dropout must drop the same elements for the same seed on every plugin and
 * device, so the stream is defined here exactly (docs/semantics.md repeats it):
 *
 *   generator  Philox4x32-10 (Salmon et al., SC'11), as in Random123.
 *   key        (k0, k1) = (seed & 0xffffffff, seed >> 32)
 *   element    idx = ((n * H + h) * L + l) * S' + s, the position of the
 *              attention weight in an (N, H, L, S') tensor (unbatched: n = 0)
 *   counter    (c0, c1, c2, c3) = (idx/4 & 0xffffffff, idx/4 >> 32, 0, 0)
 *   word       r = output word (idx % 4) of philox(counter, key)
 *   uniform    u = (r >> 8) * 2^-24, in [0, 1)
 *   decision   the weight is kept iff u >= p; kept weights are scaled by 1/(1-p)
 *
 * The OpenCL kernels carry a copy of these few lines (cl/philox.cl); tests
 * check that both streams agree bit for bit.
 */
#ifndef MHA_PHILOX_H
#define MHA_PHILOX_H

#include <stdint.h>

#define MHA_PHILOX_M0 0xD2511F53u
#define MHA_PHILOX_M1 0xCD9E8D57u
#define MHA_PHILOX_W0 0x9E3779B9u
#define MHA_PHILOX_W1 0xBB67AE85u

/* Philox4x32-10 of `counter` under `key`; result in out[0..3]. */
static inline void mha_philox4x32_10(const uint32_t counter[4], const uint32_t key[2],
                                     uint32_t out[4])
{
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k0 += MHA_PHILOX_W0;
            k1 += MHA_PHILOX_W1;
        }
        uint64_t p0 = (uint64_t)MHA_PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)MHA_PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* The uniform number in [0, 1) of attention-weight element `idx` (see above). */
static inline float mha_dropout_uniform(uint64_t seed, uint64_t idx)
{
    uint64_t block = idx >> 2;
    uint32_t counter[4] = {(uint32_t)block, (uint32_t)(block >> 32), 0u, 0u};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t words[4];
    mha_philox4x32_10(counter, key, words);
    return (float)(words[idx & 3u] >> 8) * (1.0f / 16777216.0f);
}

/* 1 if element `idx` survives dropout with probability p of being dropped. */
static inline int mha_dropout_keep(uint64_t seed, uint64_t idx, float p)
{
    return mha_dropout_uniform(seed, idx) >= p;
}

#endif /* MHA_PHILOX_H */

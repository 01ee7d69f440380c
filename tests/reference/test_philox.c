/*
 * test_philox.c - the dropout stream of include/mha/philox.h: Random123's
 * known answers for Philox4x32-10 and the mapping from an element index to a
 * counter, an output word and a uniform number.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "mha/philox.h"

static void check_philox(const uint32_t counter[4], const uint32_t key[2],
                         const uint32_t expected[4])
{
    uint32_t out[4];
    mha_philox4x32_10(counter, key, out);
    for (int i = 0; i < 4; ++i)
        assert_int_equal(out[i], expected[i]);
}

/* Known-answer vectors from Random123's kat_vectors (philox4x32 10 rounds). */
static void test_known_answers(void **state)
{
    (void)state;
    const uint32_t c0[4] = {0, 0, 0, 0}, k0[2] = {0, 0};
    const uint32_t e0[4] = {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
    check_philox(c0, k0, e0);

    const uint32_t c1[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
    const uint32_t k1[2] = {0xffffffffu, 0xffffffffu};
    const uint32_t e1[4] = {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu};
    check_philox(c1, k1, e1);

    const uint32_t c2[4] = {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u};
    const uint32_t k2[2] = {0xa4093822u, 0x299f31d0u};
    const uint32_t e2[4] = {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u};
    check_philox(c2, k2, e2);
}

/* u(seed, idx) uses word idx % 4 of block idx / 4 (split into c0, c1) under
 * key (seed low, seed high), keeping the top 24 bits. */
static void test_uniform_mapping(void **state)
{
    (void)state;
    const uint64_t seeds[3] = {0, 0x299f31d0a4093822ull, 42};
    const uint64_t indices[6] = {0, 1, 3, 4, 0x123456789abull, 0xfffffffffffffffeull};
    for (int s = 0; s < 3; ++s) {
        for (int i = 0; i < 6; ++i) {
            uint64_t idx = indices[i];
            uint64_t block = idx / 4;
            uint32_t counter[4] = {(uint32_t)(block & 0xffffffffu), (uint32_t)(block >> 32), 0, 0};
            uint32_t key[2] = {(uint32_t)(seeds[s] & 0xffffffffu), (uint32_t)(seeds[s] >> 32)};
            uint32_t words[4];
            mha_philox4x32_10(counter, key, words);
            float expected = (float)(words[idx % 4] >> 8) / 16777216.0f;
            float u = mha_dropout_uniform(seeds[s], idx);
            assert_true(u == expected);
            assert_true(u >= 0.0f && u < 1.0f);
        }
    }
    /* The first known-answer block seen through the uniform: word 2 of
     * philox({0,0,0,0}, {0,0}) is 0xbc57ac4c. */
    assert_true(mha_dropout_uniform(0, 2) == (float)(0xbc57ac4cu >> 8) / 16777216.0f);
}

static void test_keep_threshold(void **state)
{
    (void)state;
    for (uint64_t idx = 0; idx < 1000; ++idx) {
        float u = mha_dropout_uniform(7, idx);
        assert_int_equal(mha_dropout_keep(7, idx, 0.0f), 1);
        assert_int_equal(mha_dropout_keep(7, idx, u), 1);        /* kept iff u >= p */
        assert_int_equal(mha_dropout_keep(7, idx, u + 1e-6f), 0); /* (u + 1e-6 > u) */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_uniform_mapping),
        cmocka_unit_test(test_keep_threshold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_memory.c - out-of-memory handling: failing each allocation in turn,
 * creation and forward must return MHA_STATUS_OUT_OF_MEMORY with a message,
 * leave *out NULL and leak nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fake_host.h"
#include "ref_case.h"
#include "reference.h"

enum { N = 2, E = 4, H = 2, L = 3, S = 5 };

static float g_in_proj[3 * E * E], g_in_bias[3 * E], g_out_proj[E * E], g_out_bias[E];
static float g_bias_k[E], g_bias_v[E];
static float g_query[L * N * E], g_key[S * N * E], g_value[S * N * E];

static mha_config every_feature_config(void)
{
    mha_config config = ref_config(E, H);
    config.add_bias_kv = true;
    config.add_zero_attn = true;
    return config;
}

static mha_weights every_weight(void)
{
    mha_weights w = {.struct_size = sizeof w};
    w.in_proj_weight = g_in_proj;
    w.in_proj_bias = g_in_bias;
    w.out_proj_weight = g_out_proj;
    w.out_proj_bias = g_out_bias;
    w.bias_k = g_bias_k;
    w.bias_v = g_bias_v;
    return w;
}

static void test_create_out_of_memory(void **state)
{
    (void)state;
    mha_config config = every_feature_config();
    mha_weights weights = every_weight();

    /* Count the allocations of a successful create. */
    fake_host_reset();
    mha_ref_attention *att = NULL;
    assert_int_equal(mha_ref_attention_create(&fake_host, &config, &weights, &att), MHA_STATUS_OK);
    const long needed = fake_host_allocations();
    mha_ref_attention_destroy(att);
    assert_int_equal(fake_host_live(), 0);
    assert_true(needed >= 2);

    for (long k = 1; k <= needed; ++k) {
        fake_host_reset();
        fake_host_fail_at(k);
        att = (mha_ref_attention *)&att; /* must be overwritten with NULL */
        mha_status status = mha_ref_attention_create(&fake_host, &config, &weights, &att);
        assert_int_equal(status, MHA_STATUS_OUT_OF_MEMORY);
        assert_int_equal(fake_host_status(), MHA_STATUS_OUT_OF_MEMORY);
        assert_true(strlen(fake_host_message()) > 0);
        assert_null(att);
        assert_int_equal(fake_host_live(), 0);
    }
}

static void test_forward_out_of_memory(void **state)
{
    (void)state;
    mha_config config = every_feature_config();
    mha_weights weights = every_weight();
    mha_problem problem = ref_problem(&config, N, L, S, true);
    float output[L * N * E], attn[N * L * (S + 2)];
    mha_forward_args args = ref_args();
    args.query = ref_f32(g_query, 3, L, N, E, 0);
    args.key = ref_f32(g_key, 3, S, N, E, 0);
    args.value = ref_f32(g_value, 3, S, N, E, 0);
    args.attn_output = ref_f32(output, 3, L, N, E, 0);
    args.attn_weights = ref_f32(attn, 3, N, L, S + 2, 0);
    args.need_weights = true;

    fake_host_reset();
    mha_ref_attention *att = NULL;
    assert_int_equal(mha_ref_attention_create(&fake_host, &config, &weights, &att), MHA_STATUS_OK);
    const long before = fake_host_allocations();
    assert_int_equal(mha_ref_attention_forward(att, &problem, &args), MHA_STATUS_OK);
    const long needed = fake_host_allocations() - before;
    assert_true(needed >= 1);
    const long live = fake_host_live();

    for (long k = 1; k <= needed; ++k) {
        fake_host_fail_at(k);
        assert_int_equal(mha_ref_attention_forward(att, &problem, &args),
                         MHA_STATUS_OUT_OF_MEMORY);
        assert_true(strlen(fake_host_message()) > 0);
        assert_int_equal(fake_host_live(), live);
    }
    /* The object still works afterwards. */
    fake_host_fail_at(0);
    assert_int_equal(mha_ref_attention_forward(att, &problem, &args), MHA_STATUS_OK);
    mha_ref_attention_destroy(att);
    assert_int_equal(fake_host_live(), 0);
}

int main(void)
{
    tk_fill_seed(g_in_proj, 3 * E * E, 51);
    tk_fill_seed(g_in_bias, 3 * E, 52);
    tk_fill_seed(g_out_proj, E * E, 53);
    tk_fill_seed(g_out_bias, E, 54);
    tk_fill_seed(g_bias_k, E, 55);
    tk_fill_seed(g_bias_v, E, 56);
    tk_fill_seed(g_query, L * N * E, 57);
    tk_fill_seed(g_key, S * N * E, 58);
    tk_fill_seed(g_value, S * N * E, 59);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_out_of_memory),
        cmocka_unit_test(test_forward_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

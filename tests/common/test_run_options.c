/*
 * test_run_options.c - `mha run` option parsing and the state_dict loader.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy.h"
#include "run_job.h"
#include "state_dict.h"

static char g_err[1024];

#define BASE "--embed-dim", "8", "--num-heads", "2", "--weights", "w", "--query", "q.npy", \
             "--key", "k.npy", "--value", "v.npy", "--out", "o.npy"

static mha_status parse(int argc, const char *const *words, const char *base, run_options *o)
{
    g_err[0] = '\0';
    return run_options_parse(argc, (char **)(uintptr_t)words, base, o, g_err, sizeof g_err);
}

#define PARSE(base, o, ...)                                                                  \
    do {                                                                                     \
        const char *const w_[] = {__VA_ARGS__};                                              \
        st_ = parse((int)(sizeof w_ / sizeof w_[0]), w_, base, o);                           \
    } while (0)

static mha_status st_;

static void test_minimal(void **state)
{
    (void)state;
    run_options o;
    PARSE(NULL, &o, BASE);
    assert_int_equal(st_, MHA_STATUS_OK);
    assert_int_equal(o.config.embed_dim, 8);
    assert_int_equal(o.config.num_heads, 2);
    assert_int_equal(o.config.kdim, 0);
    assert_true(o.config.bias);
    assert_false(o.config.batch_first);
    assert_false(o.config.add_bias_kv);
    assert_true(o.config.struct_size >= sizeof(mha_config));
    assert_null(o.plugin);
    assert_null(o.device);
    assert_null(o.attn_mask_path);
    assert_int_equal(o.causal, MHA_CAUSAL_NONE);
    assert_false(o.need_weights);
    assert_true(o.average_attn_weights);
    assert_false(o.training);
    assert_string_equal(o.weights_dir, "w");
    assert_string_equal(o.query_path, "q.npy");
    assert_string_equal(o.out_path, "o.npy");
    run_options_free(&o);
}

static void test_everything(void **state)
{
    (void)state;
    run_options o;
    PARSE(NULL, &o, "--plugin", "reference", "--device", "0", "--kdim", "3", "--vdim", "5",
          "--batch-first", "--no-bias", "--add-bias-kv", "--add-zero-attn", "--attn-mask", "m.npy",
          "--key-padding-mask", "p.npy", "--causal", "--causal-align", "bottom-right",
          "--need-weights", "--no-average-weights", "--weights-out", "wo.npy", "--dropout", "0.25",
          "--seed", "18446744073709551615", BASE);
    assert_int_equal(st_, MHA_STATUS_OK);
    assert_string_equal(o.plugin, "reference");
    assert_string_equal(o.device, "0");
    assert_int_equal(o.config.kdim, 3);
    assert_int_equal(o.config.vdim, 5);
    assert_true(o.config.batch_first);
    assert_false(o.config.bias);
    assert_true(o.config.add_bias_kv);
    assert_true(o.config.add_zero_attn);
    assert_string_equal(o.attn_mask_path, "m.npy");
    assert_string_equal(o.key_padding_mask_path, "p.npy");
    assert_int_equal(o.causal, MHA_CAUSAL_BOTTOM_RIGHT);
    assert_true(o.need_weights);
    assert_false(o.average_attn_weights);
    assert_string_equal(o.weights_out_path, "wo.npy");
    assert_true(o.config.dropout == 0.25f);
    assert_true(o.training);
    assert_true(o.seed == 18446744073709551615ull);
    run_options_free(&o);

    PARSE(NULL, &o, "--causal", BASE);
    assert_int_equal(st_, MHA_STATUS_OK);
    assert_int_equal(o.causal, MHA_CAUSAL_TOP_LEFT);
    run_options_free(&o);
    PARSE(NULL, &o, "--causal", "--causal-align", "top-left", BASE);
    assert_int_equal(o.causal, MHA_CAUSAL_TOP_LEFT);
    run_options_free(&o);
    /* dropout 0: not training, no seed needed */
    PARSE(NULL, &o, "--dropout", "0", BASE);
    assert_int_equal(st_, MHA_STATUS_OK);
    assert_false(o.training);
    run_options_free(&o);
    /* tests may omit --weights-out */
    PARSE(NULL, &o, "--need-weights", BASE);
    assert_int_equal(st_, MHA_STATUS_OK);
    assert_null(o.weights_out_path);
    run_options_free(&o);
}

static void test_base_dir(void **state)
{
    (void)state;
    run_options o;
    PARSE("/cases/c1", &o, "--attn-mask", "/abs/m.npy", "--need-weights", "--weights-out", "wo.npy",
          BASE);
    assert_int_equal(st_, MHA_STATUS_OK);
    assert_string_equal(o.weights_dir, "/cases/c1/w");
    assert_string_equal(o.query_path, "/cases/c1/q.npy");
    assert_string_equal(o.key_path, "/cases/c1/k.npy");
    assert_string_equal(o.value_path, "/cases/c1/v.npy");
    assert_string_equal(o.attn_mask_path, "/abs/m.npy");
    assert_string_equal(o.weights_out_path, "/cases/c1/wo.npy");
    assert_string_equal(o.out_path, "/cases/c1/o.npy");
    assert_null(o.key_padding_mask_path);
    run_options_free(&o);
    PARSE("rel/", &o, BASE);
    assert_string_equal(o.query_path, "rel/q.npy");
    run_options_free(&o);
    run_options_free(NULL);
}

/* Each bad command line: INVALID_VALUE and a one-line message naming `needle`. */
static void bad(const char *needle, int argc, const char *const *words)
{
    run_options o;
    mha_status st = parse(argc, words, NULL, &o);
    if (st != MHA_STATUS_INVALID_VALUE)
        fail_msg("expected INVALID_VALUE for '%s', got %s", needle, mha_status_name(st));
    assert_null(strchr(g_err, '\n'));
    if (strstr(g_err, needle) == NULL)
        fail_msg("message '%s' does not name '%s'", g_err, needle);
}

#define BAD(needle, ...)                                                                     \
    do {                                                                                     \
        const char *const w_[] = {__VA_ARGS__};                                              \
        bad(needle, (int)(sizeof w_ / sizeof w_[0]), w_);                                    \
    } while (0)

static void test_bad(void **state)
{
    (void)state;
    BAD("--frobnicate", "--frobnicate", BASE);
    BAD("stray", "stray", BASE);
    BAD("--out", "--embed-dim", "8", "--num-heads", "2", "--weights", "w", "--query", "q",
        "--key", "k", "--value", "v");
    BAD("--embed-dim", "--num-heads", "2", "--weights", "w", "--query", "q", "--key", "k",
        "--value", "v", "--out", "o");
    BAD("--weights", "--embed-dim", "8", "--num-heads", "2", "--query", "q", "--key", "k",
        "--value", "v", "--out", "o");
    BAD("--out", BASE, "--out"); /* missing value at the end (and twice) */
    BAD("--seed", BASE, "--dropout", "0.1", "--seed");
    BAD("--query", "--query", "--key", "k", "--embed-dim", "8");
    BAD("--kdim", BASE, "--kdim", "abc");
    BAD("--kdim", BASE, "--kdim", "3x");
    BAD("--kdim", BASE, "--kdim", "");
    BAD("--kdim", BASE, "--kdim", " 3");
    BAD("--kdim", BASE, "--kdim", "0");
    BAD("--kdim", BASE, "--kdim", "-4");
    BAD("--vdim", BASE, "--vdim", "99999999999999999999999");
    BAD("--num-heads", "--embed-dim", "8", "--num-heads", "1.5", "--weights", "w", "--query", "q",
        "--key", "k", "--value", "v", "--out", "o");
    BAD("--num-heads", "--embed-dim", "9", "--num-heads", "2", "--weights", "w", "--query", "q",
        "--key", "k", "--value", "v", "--out", "o");
    BAD("--dropout", BASE, "--dropout", "1", "--seed", "1");
    BAD("--dropout", BASE, "--dropout", "-0.1", "--seed", "1");
    BAD("--dropout", BASE, "--dropout", "nan", "--seed", "1");
    BAD("--dropout", BASE, "--dropout", "0.5x", "--seed", "1");
    BAD("--seed", BASE, "--dropout", "0.5");
    BAD("--seed", BASE, "--dropout", "0.5", "--seed", "-1");
    BAD("--seed", BASE, "--dropout", "0.5", "--seed", "18446744073709551616");
    BAD("--causal-align", BASE, "--causal-align", "top-left");
    BAD("--causal-align", BASE, "--causal", "--causal-align", "diagonal");
    BAD("--no-average-weights", BASE, "--no-average-weights");
    BAD("--weights-out", BASE, "--weights-out", "w.npy");
    BAD("--batch-first", BASE, "--batch-first", "--batch-first");
}

/* ---- state_dict ---------------------------------------------------------- */

static char g_dir[256];

static int make_dir(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/mha_test_sd_XXXXXX");
    return mkdtemp(g_dir) == NULL ? -1 : 0;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *name, int32_t rank, int64_t d0, int64_t d1, int64_t d2)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    const int64_t shape[3] = {d0, d1, d2};
    size_t n = 1;
    for (int32_t i = 0; i < rank; ++i)
        n *= (size_t)shape[i];
    float *data = calloc(n, sizeof(float));
    assert_non_null(data);
    for (size_t i = 0; i < n; ++i)
        data[i] = (float)i;
    assert_int_equal(npy_write(path, MHA_DTYPE_F32, rank, shape, data, g_err, sizeof g_err),
                     MHA_STATUS_OK);
    free(data);
}

static void drop(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    unlink(path);
}

static void clear(void)
{
    for (int i = 0; i < STATE_DICT_KEY_COUNT; ++i)
        drop(state_dict_file_name(i));
}

static mha_status load(const mha_config *c, state_dict *sd)
{
    g_err[0] = '\0';
    return state_dict_load(g_dir, c, sd, g_err, sizeof g_err);
}

static void test_state_dict_packed(void **state)
{
    (void)state;
    clear();
    mha_config c;
    mha_config_init(&c, 8, 2);
    put("in_proj_weight.npy", 2, 24, 8, 0);
    put("in_proj_bias.npy", 1, 24, 0, 0);
    put("out_proj.weight.npy", 2, 8, 8, 0);
    put("out_proj.bias.npy", 1, 8, 0, 0);
    state_dict sd;
    assert_int_equal(load(&c, &sd), MHA_STATUS_OK);
    assert_non_null(sd.weights.in_proj_weight);
    assert_non_null(sd.weights.out_proj_bias);
    assert_null(sd.weights.q_proj_weight);
    assert_null(sd.weights.bias_k);
    assert_true(sd.weights.out_proj_weight[9] == 9.0f);
    state_dict_free(&sd);
    state_dict_free(&sd);

    /* wrong shape */
    put("out_proj.weight.npy", 2, 8, 4, 0);
    assert_int_equal(load(&c, &sd), MHA_STATUS_SHAPE_MISMATCH);
    assert_non_null(strstr(g_err, "out_proj.weight.npy: shape (8, 4) but expected (8, 8)"));
    put("out_proj.weight.npy", 2, 8, 8, 0);
    put("in_proj_bias.npy", 2, 24, 1, 0);
    assert_int_equal(load(&c, &sd), MHA_STATUS_SHAPE_MISMATCH);
    assert_non_null(strstr(g_err, "shape (24, 1) but expected (24,)"));
    put("in_proj_bias.npy", 1, 24, 0, 0);

    /* missing */
    drop("out_proj.bias.npy");
    assert_int_equal(load(&c, &sd), MHA_STATUS_IO_ERROR);
    assert_non_null(strstr(g_err, "out_proj.bias.npy"));
    assert_null(sd.weights.in_proj_weight);

    /* no bias: the bias files must not be there */
    c.bias = false;
    assert_int_equal(load(&c, &sd), MHA_STATUS_INVALID_VALUE);
    assert_non_null(strstr(g_err, "in_proj_bias.npy"));
    drop("in_proj_bias.npy");
    assert_int_equal(load(&c, &sd), MHA_STATUS_OK);
    assert_null(sd.weights.in_proj_bias);
    state_dict_free(&sd);

    /* bias_kv */
    c.add_bias_kv = true;
    assert_int_equal(load(&c, &sd), MHA_STATUS_IO_ERROR);
    assert_non_null(strstr(g_err, "bias_k.npy"));
    put("bias_k.npy", 3, 1, 1, 8);
    put("bias_v.npy", 2, 1, 8, 0);
    assert_int_equal(load(&c, &sd), MHA_STATUS_SHAPE_MISMATCH);
    assert_non_null(strstr(g_err, "bias_v.npy: shape (1, 8) but expected (1, 1, 8)"));
    put("bias_v.npy", 3, 1, 1, 8);
    assert_int_equal(load(&c, &sd), MHA_STATUS_OK);
    assert_non_null(sd.weights.bias_v);
    state_dict_free(&sd);

    /* a bool file */
    char path[512];
    snprintf(path, sizeof path, "%s/bias_v.npy", g_dir);
    const uint8_t b[8] = {0};
    const int64_t shape[3] = {1, 1, 8};
    assert_int_equal(npy_write(path, MHA_DTYPE_BOOL, 3, shape, b, g_err, sizeof g_err), MHA_STATUS_OK);
    assert_int_equal(load(&c, &sd), MHA_STATUS_INVALID_DTYPE);
    assert_non_null(strstr(g_err, "bias_v.npy"));
}

static void test_state_dict_separate(void **state)
{
    (void)state;
    clear();
    mha_config c;
    mha_config_init(&c, 6, 3);
    c.kdim = 4;
    c.vdim = 6;
    put("q_proj_weight.npy", 2, 6, 6, 0);
    put("k_proj_weight.npy", 2, 6, 4, 0);
    put("v_proj_weight.npy", 2, 6, 6, 0);
    put("in_proj_bias.npy", 1, 18, 0, 0);
    put("out_proj.weight.npy", 2, 6, 6, 0);
    put("out_proj.bias.npy", 1, 6, 0, 0);
    state_dict sd;
    assert_int_equal(load(&c, &sd), MHA_STATUS_OK);
    assert_null(sd.weights.in_proj_weight);
    assert_non_null(sd.weights.k_proj_weight);
    state_dict_free(&sd);
    put("in_proj_weight.npy", 2, 18, 6, 0);
    assert_int_equal(load(&c, &sd), MHA_STATUS_INVALID_VALUE);
    assert_non_null(strstr(g_err, "in_proj_weight.npy"));
    drop("in_proj_weight.npy");
    c.kdim = 5;
    assert_int_equal(load(&c, &sd), MHA_STATUS_SHAPE_MISMATCH);
    assert_non_null(strstr(g_err, "k_proj_weight.npy: shape (6, 4) but expected (6, 5)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_everything),
        cmocka_unit_test(test_base_dir),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_state_dict_packed),
        cmocka_unit_test(test_state_dict_separate),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}

/*
 * test_threads.c - several threads share one backend, each with its own
 * attention objects, for many iterations; every result must be bit-identical
 * to the one computed by a single thread beforehand.
 *
 * Besides the forwards, the threads concurrently create and destroy attention
 * objects, open and close extra backends of the same plugin, query plugins
 * and devices, and make deliberately bad calls whose per-thread error message
 * must name that thread's own mistake. Built into build-tsan by
 * scripts/sanitize.sh, where ThreadSanitizer must report no race.
 *
 * MHA_TEST_BACKEND picks the backend (default "reference"); MHA_TEST_THREADS
 * and MHA_TEST_ITERATIONS scale the run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mha/mha.h"

enum { E = 16, H = 4, N = 2, L = 7, S = 9, CASES = 4, MAX_THREADS = 16 };
enum { OUT_COUNT = L * N * E, WEIGHTS_COUNT = N * H * L * (S + 2) };

static float g_in_proj[3 * E * E], g_in_bias[3 * E], g_out_proj[E * E], g_out_bias[E];
static float g_bias_k[E], g_bias_v[E];
static float g_query[L * N * E], g_key[S * N * E], g_value[S * N * E];
static float g_attn_mask[N * H * L * S];
static uint8_t g_padding[N * S];

static const char *g_spec = "reference";
static mha_backend *g_backend; /* shared by every thread */

typedef struct expected {
    float output[OUT_COUNT];
    float weights[WEIGHTS_COUNT];
} expected;
static expected g_expected[CASES];

static void fill(float *data, size_t count, uint32_t seed)
{
    uint32_t state = seed * 2654435761u + 7u;
    for (size_t i = 0; i < count; ++i) {
        state = state * 1664525u + 1013904223u;
        data[i] = (float)((state >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* Case k: 0 plain; 1 masks + per-head weights; 2 bias_kv + zero_attn +
 * causal + averaged weights; 3 training with dropout. */
static void make_config(int k, mha_config *config, mha_weights *weights)
{
    mha_config_init(config, E, H);
    mha_weights_init(weights);
    weights->in_proj_weight = g_in_proj;
    weights->in_proj_bias = g_in_bias;
    weights->out_proj_weight = g_out_proj;
    weights->out_proj_bias = g_out_bias;
    if (k == 2) {
        config->add_bias_kv = config->add_zero_attn = true;
        weights->bias_k = g_bias_k;
        weights->bias_v = g_bias_v;
    }
    if (k == 3)
        config->dropout = 0.25f;
}

static void make_args(int k, mha_forward_args *args, float *output, float *weights)
{
    const int64_t extra = k == 2 ? 2 : 0;
    mha_forward_args_init(args);
    args->query = mha_tensor_f32(g_query, 3, (int64_t[]){L, N, E});
    args->key = mha_tensor_f32(g_key, 3, (int64_t[]){S, N, E});
    args->value = mha_tensor_f32(g_value, 3, (int64_t[]){S, N, E});
    args->attn_output = mha_tensor_f32(output, 3, (int64_t[]){L, N, E});
    if (k == 1) {
        args->key_padding_mask = mha_tensor_bool(g_padding, 2, (int64_t[]){N, S});
        args->attn_mask = mha_tensor_f32(g_attn_mask, 3, (int64_t[]){N * H, L, S});
        args->need_weights = true;
        args->average_attn_weights = false;
        args->attn_weights = mha_tensor_f32(weights, 4, (int64_t[]){N, H, L, S});
    } else if (k == 2) {
        args->causal = MHA_CAUSAL_BOTTOM_RIGHT;
        args->need_weights = true;
        args->attn_weights = mha_tensor_f32(weights, 3, (int64_t[]){N, L, S + extra});
    } else if (k == 3) {
        args->training = true;
        args->dropout_seed = 0x1234567890abcdefull;
        args->need_weights = true;
        args->attn_weights = mha_tensor_f32(weights, 3, (int64_t[]){N, L, S});
    }
}

/* One forward of case k on a new attention object of `backend`. */
static mha_status run_case(mha_backend *backend, int k, expected *result)
{
    mha_config config;
    mha_weights weights;
    make_config(k, &config, &weights);
    mha_attention *attention = NULL;
    mha_status status = mha_attention_create(backend, &config, &weights, &attention);
    if (status != MHA_STATUS_OK)
        return status;
    mha_forward_args args;
    memset(result, 0, sizeof *result);
    make_args(k, &args, result->output, result->weights);
    status = mha_attention_forward(attention, &args);
    mha_attention_destroy(attention);
    return status;
}

typedef struct worker {
    int index;
    int iterations;
    int mismatches;
    int failures;
    char first_problem[256];
} worker;

static void note(worker *w, const char *what)
{
    if (w->first_problem[0] == '\0')
        snprintf(w->first_problem, sizeof w->first_problem, "%s", what);
}

static void *work(void *arg)
{
    worker *w = arg;
    /* Objects kept for the whole run, one per case, used only by this thread. */
    mha_attention *kept[CASES] = {0};
    for (int k = 0; k < CASES; ++k) {
        mha_config config;
        mha_weights weights;
        make_config(k, &config, &weights);
        if (mha_attention_create(g_backend, &config, &weights, &kept[k]) != MHA_STATUS_OK) {
            w->failures++;
            note(w, mha_last_error());
        }
    }
    expected *got = malloc(sizeof *got);
    if (!got) {
        w->failures++;
        return NULL;
    }
    for (int it = 0; it < w->iterations; ++it) {
        int k = (it + w->index) % CASES;
        mha_forward_args args;
        memset(got, 0, sizeof *got);
        make_args(k, &args, got->output, got->weights);
        if (kept[k] && mha_attention_forward(kept[k], &args) != MHA_STATUS_OK) {
            w->failures++;
            note(w, mha_last_error());
        } else if (memcmp(got->output, g_expected[k].output, sizeof got->output) != 0 ||
                   (args.need_weights &&
                    memcmp(got->weights, g_expected[k].weights, sizeof got->weights) != 0)) {
            w->mismatches++;
            note(w, "result differs from the single-thread run");
        }
        switch (it % 8) {
        case 1: /* a short-lived object on the shared backend */
            if (run_case(g_backend, k, got) != MHA_STATUS_OK ||
                memcmp(got->output, g_expected[k].output, sizeof got->output) != 0) {
                w->failures++;
                note(w, "short-lived object failed or differs");
            }
            break;
        case 3: { /* a backend of its own, opened and closed */
            mha_backend *own = NULL;
            if (mha_backend_open(g_spec, &own) != MHA_STATUS_OK) {
                w->failures++;
                note(w, mha_last_error());
                break;
            }
            if (run_case(own, k, got) != MHA_STATUS_OK ||
                memcmp(got->output, g_expected[k].output, sizeof got->output) != 0) {
                w->failures++;
                note(w, "own backend failed or differs");
            }
            mha_backend_close(own);
            break;
        }
        case 5: { /* registry queries */
            size_t count = 0;
            mha_plugin_info info = {.struct_size = sizeof info};
            mha_capabilities caps = {.struct_size = sizeof caps};
            if (mha_plugin_count(&count) != MHA_STATUS_OK || count == 0 ||
                mha_plugin_get_info(0, &info) != MHA_STATUS_OK ||
                mha_backend_capabilities(g_backend, &caps) != MHA_STATUS_OK) {
                w->failures++;
                note(w, "registry query failed");
            }
            break;
        }
        case 7: { /* a bad call: the message is this thread's own */
            mha_config config;
            mha_config_init(&config, E, 1000 + w->index);
            mha_weights weights;
            mha_weights_init(&weights);
            mha_attention *never = NULL;
            char wanted[64];
            snprintf(wanted, sizeof wanted, "config.num_heads %d", 1000 + w->index);
            if (mha_attention_create(g_backend, &config, &weights, &never) !=
                    MHA_STATUS_INVALID_VALUE ||
                !strstr(mha_last_error(), wanted)) {
                w->failures++;
                note(w, "per-thread error message mixed up");
            }
            break;
        }
        default:
            break;
        }
    }
    free(got);
    for (int k = 0; k < CASES; ++k)
        mha_attention_destroy(kept[k]);
    return NULL;
}

static int env_int(const char *name, int fallback, int low, int high)
{
    const char *text = getenv(name);
    int value = text && *text ? atoi(text) : fallback;
    return value < low ? low : value > high ? high : value;
}

static void threads_match_one_thread(void **state)
{
    (void)state;
    const int threads = env_int("MHA_TEST_THREADS", 4, 2, MAX_THREADS);
    const int iterations = env_int("MHA_TEST_ITERATIONS", 3000, 8, 1000000);

    if (mha_backend_open(g_spec, &g_backend) != MHA_STATUS_OK) {
        print_message("backend '%s' unavailable: %s\n", g_spec, mha_last_error());
        skip();
    }
    /* The single-thread answers, twice: they must already agree. */
    for (int k = 0; k < CASES; ++k) {
        static expected again;
        assert_int_equal(run_case(g_backend, k, &g_expected[k]), MHA_STATUS_OK);
        assert_int_equal(run_case(g_backend, k, &again), MHA_STATUS_OK);
        assert_memory_equal(&again, &g_expected[k], sizeof again);
    }

    pthread_t ids[MAX_THREADS];
    worker workers[MAX_THREADS];
    memset(workers, 0, sizeof workers);
    for (int i = 0; i < threads; ++i) {
        workers[i].index = i;
        workers[i].iterations = iterations;
        assert_int_equal(pthread_create(&ids[i], NULL, work, &workers[i]), 0);
    }
    int bad = 0;
    for (int i = 0; i < threads; ++i) {
        assert_int_equal(pthread_join(ids[i], NULL), 0);
        if (workers[i].mismatches || workers[i].failures) {
            print_error("thread %d: %d mismatches, %d failures; first: %s\n", i,
                        workers[i].mismatches, workers[i].failures, workers[i].first_problem);
            bad++;
        }
    }
    mha_backend_close(g_backend);
    g_backend = NULL;
    assert_int_equal(mha_shutdown(), MHA_STATUS_OK);
    printf("threads: %d threads x %d iterations on '%s', results bit-identical\n", threads,
           iterations, g_spec);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const char *spec = getenv("MHA_TEST_BACKEND");
    if (spec && *spec)
        g_spec = spec;
    fill(g_in_proj, 3 * E * E, 11);
    fill(g_in_bias, 3 * E, 12);
    fill(g_out_proj, E * E, 13);
    fill(g_out_bias, E, 14);
    fill(g_bias_k, E, 15);
    fill(g_bias_v, E, 16);
    fill(g_query, L * N * E, 17);
    fill(g_key, S * N * E, 18);
    fill(g_value, S * N * E, 19);
    fill(g_attn_mask, N * H * L * S, 20);
    for (int i = 0; i < N * S; ++i)
        g_padding[i] = (uint8_t)(i % 4 == 3);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(threads_match_one_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

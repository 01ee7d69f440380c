/*
 * test_alloc_faults.c - host allocation failures, injected through
 * mha_set_allocator.
 *
 * One flow covers everything libmha and the reference plugin allocate: the
 * registry scan, backend open, attention create, a forward with both masks and
 * per-head weights, destroy, close and mha_shutdown. A clean run counts its
 * allocations (T). Then for every N in 1..T the N-th allocation fails:
 *  - the call that made it returns MHA_STATUS_OUT_OF_MEMORY with a message,
 *    and the number of live allocations is what it was before that call;
 *  - the same call repeated with no failure succeeds, and the flow goes on to
 *    produce results bit-identical to the clean run;
 *  - after mha_shutdown nothing is left allocated.
 * Every block carries a header with a magic number, so a pointer freed by
 * libmha that did not come from this allocator (or is freed twice) is caught.
 *
 * Linked against mha_isolated, a copy of libmha whose plugin folder holds only
 * the reference plugin, so the walk does not depend on which other plugins are
 * built or installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mha/mha.h"

/* ---- a counting allocator that can fail the N-th request ---------------- */

#define MAGIC_LIVE UINT64_C(0x6d68612d6c697665)
#define MAGIC_DEAD UINT64_C(0x6d68612d64656164)

typedef struct header {
    uint64_t magic;
    uint64_t size;
} header;
_Static_assert(sizeof(header) == 16, "header keeps 16-byte alignment");

typedef struct counter {
    long requests; /* malloc, calloc and realloc calls since the last reset */
    long fail_at;  /* 1-based request that returns NULL; 0 = none */
    long failed;   /* requests that returned NULL */
    long live;     /* blocks not yet freed */
    long foreign;  /* pointers given to free/realloc that were not ours */
} counter;

static counter g_count;

static int should_fail(void)
{
    g_count.requests++;
    if (g_count.fail_at > 0 && g_count.requests == g_count.fail_at) {
        g_count.failed++;
        return 1;
    }
    return 0;
}

static void *wrap(header *block, size_t size)
{
    if (!block)
        return NULL;
    block->magic = MAGIC_LIVE;
    block->size = size;
    return block + 1;
}

static header *unwrap(void *pointer)
{
    header *block = (header *)pointer - 1;
    if (block->magic != MAGIC_LIVE) {
        g_count.foreign++;
        return NULL;
    }
    return block;
}

static void *test_malloc_fn(size_t size, void *user)
{
    (void)user;
    if (size == 0)
        g_count.foreign++; /* libmha promises never to ask for 0 bytes */
    if (should_fail())
        return NULL;
    void *pointer = wrap(malloc(sizeof(header) + size), size);
    if (pointer)
        g_count.live++;
    return pointer;
}

static void *test_calloc_fn(size_t count, size_t size, void *user)
{
    (void)user;
    if (count == 0 || size == 0 || count > (SIZE_MAX - sizeof(header)) / size)
        g_count.foreign++;
    if (should_fail())
        return NULL;
    void *pointer = wrap(calloc(1, sizeof(header) + count * size), count * size);
    if (pointer)
        g_count.live++;
    return pointer;
}

static void *test_realloc_fn(void *pointer, size_t size, void *user)
{
    (void)user;
    if (!pointer || size == 0)
        g_count.foreign++;
    if (should_fail())
        return NULL;
    header *block = unwrap(pointer);
    if (!block)
        return NULL;
    return wrap(realloc(block, sizeof(header) + size), size);
}

static void test_free_fn(void *pointer, void *user)
{
    (void)user;
    if (!pointer) {
        g_count.foreign++;
        return;
    }
    header *block = unwrap(pointer);
    if (!block)
        return;
    block->magic = MAGIC_DEAD;
    g_count.live--;
    free(block);
}

static const mha_allocator g_allocator = {
    .struct_size = sizeof(mha_allocator),
    .malloc = test_malloc_fn,
    .calloc = test_calloc_fn,
    .realloc = test_realloc_fn,
    .free = test_free_fn,
    .user = &g_count,
};

static void arm(long fail_at)
{
    g_count.requests = 0;
    g_count.failed = 0;
    g_count.fail_at = fail_at;
}

/* ---- the flow ------------------------------------------------------------ */

enum { E = 8, H = 2, N = 2, L = 3, S = 4 };
enum { OUT_COUNT = L * N * E, WEIGHTS_COUNT = N * H * L * S };

static float g_in_proj[3 * E * E], g_in_bias[3 * E], g_out_proj[E * E], g_out_bias[E];
static float g_query[L * N * E], g_key[S * N * E], g_value[S * N * E];
static float g_attn_mask[N * H * L * S];
static uint8_t g_padding[N * S];

static void fill(float *data, size_t count, uint32_t seed)
{
    uint32_t state = seed * 2654435761u + 1u;
    for (size_t i = 0; i < count; ++i) {
        state = state * 1664525u + 1013904223u;
        data[i] = (float)((state >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

typedef struct flow_result {
    const char *failed_step; /* first step that failed, NULL if none */
    mha_status failed_status;
    char message[256];
    long live_before, live_after; /* around the failed call */
    float output[OUT_COUNT];
    float weights[WEIGHTS_COUNT];
} flow_result;

/* Runs `call`; when it fails, records the failure, turns injection off and
 * runs it once more, which must succeed. Returns the final status. */
#define STEP(name, call)                                                                \
    do {                                                                              \
        long live_before_ = g_count.live;                                             \
        mha_status status_ = (call);                                                  \
        if (status_ != MHA_STATUS_OK && !result->failed_step) {                       \
            result->failed_step = (name);                                             \
            result->failed_status = status_;                                          \
            snprintf(result->message, sizeof result->message, "%s", mha_last_error()); \
            result->live_before = live_before_;                                       \
            result->live_after = g_count.live;                                        \
            g_count.fail_at = 0;                                                      \
            status_ = (call);                                                         \
        }                                                                             \
        if (status_ != MHA_STATUS_OK) {                                               \
            status = status_;                                                         \
            print_error("step %s failed again: %s: %s\n", (name),                     \
                        mha_status_name(status_), mha_last_error());                  \
            goto done;                                                                \
        }                                                                             \
    } while (0)

static mha_status run_flow(flow_result *result)
{
    memset(result, 0, sizeof *result);
    mha_status status = MHA_STATUS_OK;
    mha_backend *backend = NULL;
    mha_attention *attention = NULL;
    size_t count = 0;

    STEP("scan (mha_plugin_count)", mha_plugin_count(&count));
    if (count != 1) {
        print_error("expected the reference plugin alone, found %zu plugins\n", count);
        status = MHA_STATUS_INTERNAL;
        goto done;
    }
    STEP("mha_backend_open", mha_backend_open("reference", &backend));

    mha_config config;
    mha_config_init(&config, E, H);
    mha_weights weights;
    mha_weights_init(&weights);
    weights.in_proj_weight = g_in_proj;
    weights.in_proj_bias = g_in_bias;
    weights.out_proj_weight = g_out_proj;
    weights.out_proj_bias = g_out_bias;
    STEP("mha_attention_create", mha_attention_create(backend, &config, &weights, &attention));

    mha_forward_args args;
    mha_forward_args_init(&args);
    args.query = mha_tensor_f32(g_query, 3, (int64_t[]){L, N, E});
    args.key = mha_tensor_f32(g_key, 3, (int64_t[]){S, N, E});
    args.value = mha_tensor_f32(g_value, 3, (int64_t[]){S, N, E});
    args.key_padding_mask = mha_tensor_bool(g_padding, 2, (int64_t[]){N, S});
    args.attn_mask = mha_tensor_f32(g_attn_mask, 3, (int64_t[]){N * H, L, S});
    args.causal = MHA_CAUSAL_BOTTOM_RIGHT;
    args.need_weights = true;
    args.average_attn_weights = false;
    args.attn_output = mha_tensor_f32(result->output, 3, (int64_t[]){L, N, E});
    args.attn_weights = mha_tensor_f32(result->weights, 4, (int64_t[]){N, H, L, S});
    STEP("mha_attention_forward", mha_attention_forward(attention, &args));

done:
    mha_attention_destroy(attention);
    mha_backend_close(backend);
    mha_status shutdown = mha_shutdown();
    if (status == MHA_STATUS_OK)
        status = shutdown;
    return status;
}

/* ---- tests ----------------------------------------------------------------- */

static void set_allocator_checks_its_argument(void **state)
{
    (void)state;
    mha_allocator bad = g_allocator;
    bad.struct_size = 0;
    assert_int_equal(mha_set_allocator(&bad), MHA_STATUS_INVALID_STRUCT_SIZE);
    assert_non_null(strstr(mha_last_error(), "allocator.struct_size is 0"));
    bad = g_allocator;
    bad.realloc = NULL;
    assert_int_equal(mha_set_allocator(&bad), MHA_STATUS_NULL_ARGUMENT);
    assert_non_null(strstr(mha_last_error(), "allocator.realloc is NULL"));

    /* Not while plugins are loaded: their memory came from the old one. */
    assert_int_equal(mha_set_allocator(&g_allocator), MHA_STATUS_OK);
    size_t count = 0;
    assert_int_equal(mha_plugin_count(&count), MHA_STATUS_OK);
    assert_int_equal(mha_set_allocator(NULL), MHA_STATUS_BUSY);
    assert_non_null(strstr(mha_last_error(), "mha_shutdown"));
    assert_int_equal(mha_shutdown(), MHA_STATUS_OK);
    assert_int_equal(g_count.live, 0);
    assert_int_equal(mha_set_allocator(NULL), MHA_STATUS_OK);
    /* The default allocator works, and the hook can be set again after. */
    assert_int_equal(mha_plugin_count(&count), MHA_STATUS_OK);
    assert_int_equal(mha_shutdown(), MHA_STATUS_OK);
    assert_int_equal(mha_set_allocator(&g_allocator), MHA_STATUS_OK);
    assert_int_equal(g_count.foreign, 0);
}

static void every_allocation_failure_is_survived(void **state)
{
    (void)state;
    assert_int_equal(mha_set_allocator(&g_allocator), MHA_STATUS_OK);

    static flow_result clean, faulty;
    arm(0);
    assert_int_equal(run_flow(&clean), MHA_STATUS_OK);
    assert_null(clean.failed_step);
    assert_int_equal(g_count.live, 0);
    const long total = g_count.requests;
    assert_true(total >= 10);

    int failures = 0;
    long per_step[4] = {0};
    const char *steps[4] = {"scan (mha_plugin_count)", "mha_backend_open",
                            "mha_attention_create", "mha_attention_forward"};
    for (long n = 1; n <= total; ++n) {
        arm(n);
        mha_status status = run_flow(&faulty);
        const char *why = NULL;
        if (status != MHA_STATUS_OK)
            why = "the flow did not recover";
        else if (g_count.failed != 1)
            why = "no allocation failed";
        else if (!faulty.failed_step)
            why = "an allocation failed but every call succeeded";
        else if (faulty.failed_status != MHA_STATUS_OUT_OF_MEMORY)
            why = "the failing call did not return MHA_STATUS_OUT_OF_MEMORY";
        else if (faulty.message[0] == '\0')
            why = "no error message";
        else if (faulty.live_after != faulty.live_before)
            why = "the failing call leaked";
        else if (g_count.live != 0)
            why = "blocks left after mha_shutdown";
        else if (memcmp(clean.output, faulty.output, sizeof clean.output) != 0 ||
                 memcmp(clean.weights, faulty.weights, sizeof clean.weights) != 0)
            why = "results differ from the clean run";
        if (why) {
            print_error("allocation %ld of %ld: %s (step %s, %s: \"%s\", live %ld -> %ld, "
                        "%ld left)\n",
                        n, total, why, faulty.failed_step ? faulty.failed_step : "-",
                        mha_status_name(faulty.failed_status), faulty.message,
                        faulty.live_before, faulty.live_after, g_count.live);
            failures++;
            g_count.live = 0; /* report each point on its own */
        }
        for (int s = 0; s < 4; ++s)
            if (faulty.failed_step && strcmp(faulty.failed_step, steps[s]) == 0)
                per_step[s]++;
    }
    assert_int_equal(g_count.foreign, 0);
    /* Parsed by scripts/reliability-figures.sh. */
    printf("fault-walk: host allocation points walked: %ld (scan %ld, backend_open %ld, "
           "attention_create %ld, forward %ld)\n",
           total, per_step[0], per_step[1], per_step[2], per_step[3]);
    assert_int_equal(failures, 0);
    /* Each part of the flow allocates, so each part was walked. */
    for (int s = 0; s < 4; ++s)
        assert_true(per_step[s] > 0);
}

int main(void)
{
    fill(g_in_proj, 3 * E * E, 1);
    fill(g_in_bias, 3 * E, 2);
    fill(g_out_proj, E * E, 3);
    fill(g_out_bias, E, 4);
    fill(g_query, L * N * E, 5);
    fill(g_key, S * N * E, 6);
    fill(g_value, S * N * E, 7);
    fill(g_attn_mask, N * H * L * S, 8);
    for (int i = 0; i < N * S; ++i)
        g_padding[i] = (uint8_t)(i == 1 || i == 6);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(set_allocator_checks_its_argument),
        cmocka_unit_test(every_allocation_failure_is_survived),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_forward_reuse.c - attention objects used again: no device allocation
 * after the first call of a size, and threads sharing one backend with an
 * object each giving the single-thread bits.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mha/mha.h"
#include "forward_fixture.h"

/* Device buffers the attention object has allocated (mha_attention_get_stats). */
static uint64_t device_allocations(const mha_attention *att)
{
    mha_attention_stats st = {.struct_size = sizeof st};
    assert_int_equal(mha_attention_get_stats(att, &st), MHA_STATUS_OK);
    assert_true(st.stats_supported);
    return st.device_allocations;
}

/* After the first call, calls of the same or smaller size allocate nothing. */
void test_steady_state_allocations(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    tk_case big, small;
    memset(&big, 0, sizeof big);
    big.E = 10, big.H = 2, big.kdim = 6, big.vdim = 7, big.N = 3, big.batched = true;
    big.L = 9, big.S = 11, big.bias = true, big.add_bias_kv = true, big.need_weights = true;
    big.average = true, big.attn_mask = TK_MASK_FLOAT, big.kpm = TK_MASK_BOOL;
    small = big;
    small.N = 2, small.L = 4, small.S = 5;
    tk_case_fill(&big, 5);
    tk_case_fill(&small, 6);
    mha_attention *att = NULL;
    assert_int_equal(tk_case_attention(&big, f->ocl, &att), MHA_STATUS_OK);
    float *out = calloc(big.out_count, sizeof(float)), *w = calloc(big.weights_count, sizeof(float));
    const uint64_t created = device_allocations(att);
    assert_true(created > 0); /* the weights */
    assert_int_equal(tk_case_run(&big, f->ocl, att, out, w, NULL), MHA_STATUS_OK);
    const uint64_t total = device_allocations(att);
    assert_true(total > created);
    for (int i = 0; i < 3; ++i) {
        assert_int_equal(tk_case_run(&big, f->ocl, att, out, w, NULL), MHA_STATUS_OK);
        assert_int_equal(device_allocations(att), total);
        assert_int_equal(tk_case_run(&small, f->ocl, att, out, w, NULL), MHA_STATUS_OK);
        assert_int_equal(device_allocations(att), total);
    }
    /* A larger call grows the scratch once, then is steady again. */
    tk_case bigger = big;
    bigger.L = 13;
    tk_case_fill(&bigger, 7); /* data of its own */
    float *out2 = calloc(bigger.out_count, sizeof(float));
    float *w2 = calloc(bigger.weights_count, sizeof(float));
    assert_int_equal(tk_case_run(&bigger, f->ocl, att, out2, w2, NULL), MHA_STATUS_OK);
    const uint64_t grown = device_allocations(att);
    assert_true(grown > total);
    assert_int_equal(tk_case_run(&bigger, f->ocl, att, out2, w2, NULL), MHA_STATUS_OK);
    assert_int_equal(device_allocations(att), grown);
    mha_attention_destroy(att);
    free(out), free(w), free(out2), free(w2);
    tk_case_free(&big);
    tk_case_free(&small);
    tk_case_free(&bigger);
}

/* Threads, each with its own attention object on the shared backend. */
#define OCL_THREADS 4
#define OCL_THREAD_CASES 6
typedef struct thread_job {
    fixture *f;
    int index;
    float *outs[OCL_THREAD_CASES];
    mha_status status;
} thread_job;

static uint32_t thread_case_seed(int k) { return 500u + (uint32_t)k; }

static void *thread_main(void *p)
{
    thread_job *job = p;
    job->status = MHA_STATUS_OK;
    for (int rep = 0; rep < 2; ++rep)
        for (int k = 0; k < OCL_THREAD_CASES; ++k) {
            int kk = (k + job->index) % OCL_THREAD_CASES; /* different orders */
            tk_case c;
            tk_case_random(&c, thread_case_seed(kk));
            float *w = calloc(c.weights_count + 1, sizeof(float));
            mha_status st = tk_case_run(&c, job->f->ocl, NULL, job->outs[kk], w, NULL);
            if (st != MHA_STATUS_OK)
                job->status = st;
            free(w);
            tk_case_free(&c);
        }
    return NULL;
}

void test_threads(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    float *expect[OCL_THREAD_CASES];
    size_t counts[OCL_THREAD_CASES];
    for (int k = 0; k < OCL_THREAD_CASES; ++k) {
        tk_case c;
        tk_case_random(&c, thread_case_seed(k));
        counts[k] = c.out_count;
        expect[k] = calloc(c.out_count, sizeof(float));
        float *w = calloc(c.weights_count + 1, sizeof(float));
        assert_int_equal(tk_case_run(&c, f->ocl, NULL, expect[k], w, NULL), MHA_STATUS_OK);
        free(w);
        tk_case_free(&c);
    }
    thread_job jobs[OCL_THREADS];
    pthread_t tids[OCL_THREADS];
    for (int t = 0; t < OCL_THREADS; ++t) {
        jobs[t].f = f;
        jobs[t].index = t;
        for (int k = 0; k < OCL_THREAD_CASES; ++k)
            jobs[t].outs[k] = calloc(counts[k], sizeof(float));
        assert_int_equal(pthread_create(&tids[t], NULL, thread_main, &jobs[t]), 0);
    }
    for (int t = 0; t < OCL_THREADS; ++t)
        pthread_join(tids[t], NULL);
    for (int t = 0; t < OCL_THREADS; ++t) {
        assert_int_equal(jobs[t].status, MHA_STATUS_OK);
        for (int k = 0; k < OCL_THREAD_CASES; ++k) {
            /* Same device, same kernels, same order: identical bits. */
            if (memcmp(jobs[t].outs[k], expect[k], counts[k] * sizeof(float)) != 0)
                fail_msg("thread %d case %d differs from the single-thread result", t, k);
            free(jobs[t].outs[k]);
        }
    }
    for (int k = 0; k < OCL_THREAD_CASES; ++k)
        free(expect[k]);
}

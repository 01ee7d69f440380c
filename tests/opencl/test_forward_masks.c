/*
 * test_forward_masks.c - NaN rules of masked rows and dropout's mask, against
 * the reference plugin.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mha/mha.h"
#include "forward_fixture.h"

/* A row whose only unmasked score is NaN is NaN, as in the reference (and
 * PyTorch), not a fully masked row of zeros. Two ways to get there: a NaN in a
 * float attn_mask with -inf elsewhere in the row, and a NaN query with a bool
 * mask that leaves one key. A third: a NaN in the key bias makes every score
 * of its head NaN, also where it is not added to the keys but enters as q.b_k
 * (the fused kernels reading K in place, the absorbed path), which softmax
 * would otherwise ignore as a constant of the row. */
void test_nan_only_unmasked(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    for (int way = 0; way < 3; ++way)
        for (int weights = 0; weights < 2; ++weights) {
            tk_case c;
            memset(&c, 0, sizeof c);
            c.E = 6, c.H = 2, c.kdim = c.vdim = 6, c.N = 2, c.batched = true;
            c.L = 4, c.S = 5, c.bias = true, c.need_weights = weights, c.average = way;
            c.attn_mask = way == 0 ? TK_MASK_FLOAT : way == 1 ? TK_MASK_BOOL : TK_MASK_NONE;
            tk_case_fill(&c, 900u + (uint32_t)way);
            const size_t S = (size_t)c.S;
            if (way == 0) {
                float *m = c.attn_mask_data; /* (L, S): row 1 */
                for (size_t j = 0; j < S; ++j)
                    m[1 * S + j] = j == 2 ? NAN : -INFINITY;
            } else if (way == 1) {
                uint8_t *m = c.attn_mask_data; /* (L, S): row 2 keeps key 3 only */
                for (size_t j = 0; j < S; ++j)
                    m[2 * S + j] = j != 3;
                /* query row (l = 2, n = 1), layout (L, N, E) */
                c.query[(2 * (size_t)c.N + 1) * (size_t)c.E + 4] = NAN;
            } else {
                c.b_in[c.E] = NAN; /* b_k[0]: every score of head 0 */
            }
            float *out = calloc(c.out_count, sizeof(float));
            float *w = calloc(c.weights_count + 1, sizeof(float));
            assert_int_equal(tk_case_run(&c, f->ocl, NULL, out, w, NULL), MHA_STATUS_OK);
            size_t nans = 0;
            for (size_t i = 0; i < c.out_count; ++i)
                nans += isnan(out[i]) != 0;
            if (nans == 0)
                fail_msg("way %d: no NaN in attn_output", way);
            free(out), free(w);
            check_case(f, &c, 900u + (uint32_t)(2 * way + weights));
            tk_case_free(&c);
        }
}

/* Dropout drops exactly the reference's elements. */
void test_dropout_mask(void **state)
{
    fixture *f = *state;
    OCL_NEED_DEVICE(f);
    for (uint32_t k = 0; k < 4; ++k) {
        tk_case c;
        memset(&c, 0, sizeof c);
        c.E = 12, c.H = 4, c.kdim = c.vdim = 12, c.N = 3, c.batched = true;
        c.L = 5, c.S = 13, c.bias = true, c.add_zero_attn = (k & 1);
        c.need_weights = true, c.average = false;
        c.training = true, c.dropout = k < 2 ? 0.5f : 0.25f;
        c.seed = k == 3 ? 0xfedcba9876543210ull : 42u + k;
        tk_case_fill(&c, 77 + k);
        float *out_o = calloc(c.out_count, sizeof(float)), *out_r = calloc(c.out_count, sizeof(float));
        float *w_o = calloc(c.weights_count, sizeof(float)), *w_r = calloc(c.weights_count, sizeof(float));
        assert_int_equal(tk_case_run(&c, f->ocl, NULL, out_o, w_o, NULL), MHA_STATUS_OK);
        assert_int_equal(tk_case_run(&c, f->ref, NULL, out_r, w_r, NULL), MHA_STATUS_OK);
        size_t zeros = 0;
        for (size_t i = 0; i < c.weights_count; ++i) {
            if ((w_o[i] == 0.0f) != (w_r[i] == 0.0f))
                fail_msg("seed %llu: weight %zu dropped by one plugin only (%g vs %g)",
                         (unsigned long long)c.seed, i, (double)w_o[i], (double)w_r[i]);
            zeros += w_o[i] == 0.0f;
        }
        /* p of them, roughly */
        assert_true(zeros > c.weights_count / 8 && zeros < c.weights_count * 3 / 4);
        assert_true(tk_first_bad(w_o, w_r, c.weights_count, OCL_TOL) < 0);
        assert_true(tk_first_bad(out_o, out_r, c.out_count, OCL_TOL) < 0);
        free(out_o), free(out_r), free(w_o), free(w_r);
        tk_case_free(&c);
    }
}

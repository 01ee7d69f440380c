/* forward_grid.c - see forward_grid.h. */
#include "forward_grid.h"

#include <string.h>

const char *const grid_softmax_kernels[3] = {"items", "columns", "group"};
/* the paths with a softmax kernel */
const char *const grid_softmax_paths[2] = {"gemm", "absorbed"};
const char *const grid_paths[4] = {"fused", "gemm", "absorbed", "flash"};

/* c, a copy of the random case r with some fields changed, gets data of its
 * own for its new shape (r's arrays are freed). */
static void refill(tk_case *c, tk_case *r, uint32_t seed)
{
    tk_case_free(r);
    tk_case_fill(c, seed); /* forgets the arrays it shared with r first */
}

void grid_sweep(tk_case *c, uint32_t id) { tk_case_random(c, id); }

void grid_edge(tk_case *c, uint32_t id)
{
    const uint32_t k = id - GRID_EDGE_FIRST;
    memset(c, 0, sizeof *c);
    if (k < 4) {
        const int causal = 1 + (int)(k / 2u), lt = (int)(k % 2u); /* L < S and L > S */
        c->E = 15, c->H = 3, c->kdim = c->vdim = 15, c->N = 2, c->batched = true;
        c->L = lt ? 3 : 7, c->S = lt ? 7 : 3;
        c->bias = true, c->add_zero_attn = (causal == 2), c->add_bias_kv = lt;
        c->causal = (mha_causal)causal;
        c->kpm = TK_MASK_BOOL;
        c->need_weights = true;
        c->average = false;
    } else { /* A long row: the softmax work-group loops over many columns. */
        c->E = 8, c->H = 2, c->kdim = c->vdim = 8, c->N = 1, c->batched = true;
        c->batch_first = true;
        c->L = 3, c->S = 601, c->bias = true, c->need_weights = true, c->average = true;
        c->attn_mask = TK_MASK_FLOAT;
    }
    tk_case_fill(c, id);
}

void grid_softmax(tk_case *c, uint32_t id)
{
    const uint32_t k = id - GRID_SOFTMAX_FIRST;
    tk_case r;
    tk_case_random(&r, id);
    *c = r; /* c takes r's configuration; its arrays are refilled below */
    /* short planes, longer ones with a partial vector and single rows at the
     * end, and one with two work-items of mha_softmax_items (256 rows each) */
    c->L = k < 20   ? 1 + (int64_t)((k * 7u) % 23u)
           : k < 23 ? 40 + 19 * (int64_t)(k - 20u)
                    : 301;
    c->S = c->self_attention ? c->L : 8 + (int64_t)((k * 13u) % 41u);
    c->attn_mask = (tk_mask)(k % 3u);
    c->kpm = (tk_mask)((k / 3u) % 3u);
    c->causal = (mha_causal)((k / 9u) % 3u);
    refill(c, &r, id);
}

void grid_path(tk_case *c, uint32_t id)
{
    static const int64_t head_dims[] = {64, 128, 129};
    const uint32_t k = id - GRID_PATH_FIRST;
    tk_case r;
    tk_case_random(&r, id);
    *c = r; /* c takes r's configuration; its arrays are refilled below */
    c->need_weights = k % 3u != 0;
    c->average = k % 2u == 0;
    c->L = 1 + (int64_t)((k * 11u) % 61u); /* up to 3 work-items, partly filled */
    c->S = c->self_attention ? c->L : 1 + (int64_t)((k * 7u) % 43u);
    c->attn_mask = (tk_mask)(k % 3u);
    c->kpm = (tk_mask)((k / 3u) % 3u);
    c->causal = (mha_causal)((k / 9u) % 3u);
    c->training = k % 4u == 0;
    c->dropout = c->training ? 0.3f : 0.0f;
    if (k >= 30) { /* wide heads */
        c->H = 2;
        c->E = c->kdim = c->vdim = 2 * head_dims[k - 30];
    }
    refill(c, &r, id);
}

void grid_padding(tk_case *c, uint32_t id)
{
    const uint32_t k = id - GRID_PADDING_FIRST;
    memset(c, 0, sizeof *c);
    c->E = 128, c->H = 4, c->N = 3, c->batched = true, c->batch_first = k % 2u == 1;
    c->L = 175, c->S = 171, c->bias = true, c->kpm = TK_MASK_BOOL;
    c->need_weights = k >= 4, c->average = true;
    const uint32_t kind = k / 2u % 3u; /* 0 self, 1 key == value, 2 other widths */
    c->self_attention = kind == 0;
    c->kv_same = kind == 1;
    c->kdim = kind == 2 ? 96 : 128;
    c->vdim = kind == 2 ? 80 : 128;
    if (c->self_attention)
        c->S = c->L;
    tk_case_fill(c, id);
}

void grid_choice(tk_case *c, uint32_t id)
{
    const uint32_t k = id - GRID_CHOICE_FIRST;
    const bool self = k / 2u == 1, weights = k % 2u == 1;
    memset(c, 0, sizeof *c);
    c->E = c->kdim = c->vdim = 64, c->H = 2, c->N = 2, c->batched = true;
    c->L = self ? 40 : 1, c->S = 40, c->self_attention = self, c->kv_same = !self;
    c->bias = true, c->kpm = TK_MASK_BOOL, c->need_weights = weights, c->average = true;
    tk_case_fill(c, id);
}

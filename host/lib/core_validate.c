/* core_validate.c - every check of an attention-core call, and its
 * normalisation into an mha_core_problem of rank-4 strided views
 * (plugin.h), done once so plugins only see valid calls. Each failing check
 * names the argument and the expected and actual values. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core_validate.h"
#include "error.h"

/* ---- views ---------------------------------------------------------------- */

static const char *shape_text(const mha_view *view, char *buf, size_t size)
{
    int32_t rank = view->rank < 0 ? 0 : view->rank > MHA_VIEW_MAX_RANK ? MHA_VIEW_MAX_RANK : view->rank;
    return mha_shape_string(rank, view->shape, buf, size);
}

/* The strides of a view in elements: its own, or dense row-major. */
static void strides_of(const mha_view *view, int64_t strides[MHA_VIEW_MAX_RANK])
{
    int dense = 1;
    for (int32_t i = 0; i < view->rank; ++i)
        dense &= view->strides[i] == 0;
    int64_t step = 1;
    for (int32_t i = view->rank - 1; i >= 0; --i) {
        strides[i] = dense ? step : view->strides[i];
        step *= view->shape[i] > 0 ? view->shape[i] : 1;
    }
}

/* A present view: the one check of mha_view_check, then its memory kind
 * (the backend's) and dtype (among `dtypes`, bits) and rank (among `ranks`,
 * bits). */
static mha_status check_view(const char *name, const mha_view *view, unsigned dtypes,
                             unsigned ranks, const mha_capabilities *caps)
{
    char message[1024];
    mha_status status = mha_view_check(name, view, NULL, NULL);
    if (status != MHA_STATUS_OK) {
        /* mha_view_check clears the error first, as a public call; keep its text. */
        snprintf(message, sizeof message, "%s", mha_last_error());
        return mha_error_set(status, "%s", message);
    }
    if ((unsigned)view->memory >= 32 || !(caps->memory_kinds & (1u << view->memory)))
        return mha_error_set(MHA_STATUS_UNSUPPORTED,
                             "%s.memory is %d, a memory kind this backend does not accept", name,
                             (int)view->memory);
    if ((unsigned)view->dtype >= 32 || !(dtypes & (1u << view->dtype)))
        return mha_error_set(MHA_STATUS_INVALID_DTYPE, "%s.dtype is %s, which is not allowed here",
                             name, mha_dtype_name(view->dtype));
    if (!(ranks & (1u << view->rank)))
        return mha_error_set(MHA_STATUS_SHAPE_MISMATCH, "%s.rank is %d but must be %s", name,
                             (int)view->rank,
                             ranks == 1u << 4                 ? "4"
                             : ranks == (1u << 3 | 1u << 4)   ? "3 or 4"
                             : ranks == 1u << 1               ? "1"
                                                              : "1 to 4");
    return MHA_STATUS_OK;
}

/* `view` as the rank-4 view `out` with explicit strides. A 3-D (B, L, H*X)
 * view becomes (B, H, L, X). */
static void as_rank4(const mha_view *view, int64_t heads, mha_view *out)
{
    int64_t strides[MHA_VIEW_MAX_RANK];
    strides_of(view, strides);
    *out = *view;
    out->next = NULL;
    out->rank = 4;
    if (view->rank == 3) {
        int64_t x = view->shape[2] / heads;
        out->shape[0] = view->shape[0];
        out->shape[1] = heads;
        out->shape[2] = view->shape[1];
        out->shape[3] = x;
        out->strides[0] = strides[0];
        out->strides[1] = x * strides[2];
        out->strides[2] = strides[1];
        out->strides[3] = strides[2];
    } else {
        for (int i = 0; i < 4; ++i)
            out->strides[i] = strides[i];
    }
    for (int i = 4; i < MHA_VIEW_MAX_RANK; ++i)
        out->shape[i] = out->strides[i] = 0;
}

static int is_dense4(const mha_view *view)
{
    int64_t step = 1;
    for (int i = 3; i >= 0; --i) {
        if (view->shape[i] > 1 && view->strides[i] != step)
            return 0;
        step *= view->shape[i];
    }
    return 1;
}

/* Compares a view's shape with the expected rank-4 one, (B, H, X, Y); a
 * 3-D view is compared with (B, X, H*Y), the layout it stands for. */
static mha_status check_shape4(const char *name, const mha_view *given, const int64_t expected[4],
                               const char *why)
{
    int64_t want[4] = {expected[0], expected[1], expected[2], expected[3]};
    int32_t rank = 4;
    if (given->rank == 3) {
        want[1] = expected[2];
        want[2] = expected[1] * expected[3];
        rank = 3;
    }
    int same = given->rank == rank;
    for (int32_t i = 0; same && i < rank; ++i)
        same = given->shape[i] == want[i];
    if (same)
        return MHA_STATUS_OK;
    char actual_text[160], expected_text[160];
    return mha_error_set(MHA_STATUS_SHAPE_MISMATCH, "%s: shape %s but expected %s %s", name,
                         shape_text(given, actual_text, sizeof actual_text),
                         mha_shape_string(rank, want, expected_text, sizeof expected_text), why);
}

/* ---- byte ranges, for overlap checks --------------------------------------- */

typedef struct extent {
    int memory;
    uintptr_t space;
    uint64_t begin, end;
} extent;

static extent extent_of(const mha_view *view)
{
    int64_t elements = 0, reach = 0;
    mha_view_check("view", view, &elements, &reach);
    extent e = {.memory = (int)view->memory};
    uint64_t bytes = (uint64_t)reach * mha_dtype_size(view->dtype);
    if (view->memory == MHA_MEMORY_HOST) {
        e.begin = (uint64_t)(uintptr_t)view->data;
    } else {
        e.space = (uintptr_t)view->data;
        e.begin = view->offset;
    }
    e.end = e.begin + bytes;
    return e;
}

static mha_status check_apart(const char *a_name, const mha_view *a, const char *b_name,
                              const mha_view *b)
{
    if (!a->data || !b->data)
        return MHA_STATUS_OK;
    extent x = extent_of(a), y = extent_of(b);
    if (x.memory != y.memory || x.space != y.space || x.begin == x.end || y.begin == y.end ||
        x.end <= y.begin || y.end <= x.begin)
        return MHA_STATUS_OK;
    return mha_error_set(MHA_STATUS_INVALID_VALUE,
                         "%s overlaps %s (bytes 0x%llx..0x%llx and 0x%llx..0x%llx); outputs must "
                         "not overlap the inputs or each other",
                         a_name, b_name, (unsigned long long)x.begin, (unsigned long long)x.end,
                         (unsigned long long)y.begin, (unsigned long long)y.end);
}

/* ---- the call ---------------------------------------------------------------- */

static mha_status need(const mha_capabilities *caps, uint32_t feature, const char *what)
{
    if (caps->core_features & feature)
        return MHA_STATUS_OK;
    return mha_error_set(MHA_STATUS_UNSUPPORTED, "%s: not supported by this backend's core",
                         what);
}

/* q, k, v: ranks, heads, sizes; fills the problem's sizes and views. */
static mha_status check_qkv(const mha_core_args *args, const mha_capabilities *caps,
                            mha_core_problem *pr)
{
    const unsigned floats = caps->core_dtypes & (1u << MHA_DTYPE_F32 | 1u << MHA_DTYPE_F16 |
                                                 1u << MHA_DTYPE_BF16);
    const unsigned rank34 = 1u << 3 | 1u << 4;
    mha_status status;
    if ((status = check_view("q", &args->q, floats, rank34, caps)) ||
        (status = check_view("k", &args->k, 1u << args->q.dtype, rank34, caps)) ||
        (status = check_view("v", &args->v, 1u << args->q.dtype, rank34, caps)))
        return status;
    char text[160], other[160];
    if (args->k.rank != args->q.rank || args->v.rank != args->q.rank) {
        const char *name = args->k.rank != args->q.rank ? "k" : "v";
        const mha_view *view = args->k.rank != args->q.rank ? &args->k : &args->v;
        return mha_error_set(MHA_STATUS_SHAPE_MISMATCH, "%s: rank %d but q %s has rank %d", name,
                             (int)view->rank, shape_text(&args->q, other, sizeof other),
                             (int)args->q.rank);
    }
    int64_t Hq, Hkv;
    if (args->q.rank == 3) {
        if (args->q_num_heads <= 0 || args->kv_num_heads <= 0)
            return mha_error_set(MHA_STATUS_INVALID_VALUE,
                                 "q_num_heads is %lld and kv_num_heads is %lld but 3-D inputs "
                                 "need both > 0",
                                 (long long)args->q_num_heads, (long long)args->kv_num_heads);
        Hq = args->q_num_heads;
        Hkv = args->kv_num_heads;
        const struct {
            const char *name;
            const mha_view *view;
            int64_t heads;
        } parts[] = {{"q", &args->q, Hq}, {"k", &args->k, Hkv}, {"v", &args->v, Hkv}};
        for (int i = 0; i < 3; ++i)
            if (parts[i].view->shape[2] % parts[i].heads != 0 || parts[i].view->shape[2] == 0)
                return mha_error_set(MHA_STATUS_SHAPE_MISMATCH,
                                     "%s: shape %s has %lld features, not a positive multiple of "
                                     "its %lld heads",
                                     parts[i].name, shape_text(parts[i].view, text, sizeof text),
                                     (long long)parts[i].view->shape[2],
                                     (long long)parts[i].heads);
    } else {
        Hq = args->q.shape[1];
        Hkv = args->k.shape[1];
        if ((args->q_num_heads != 0 && args->q_num_heads != Hq) ||
            (args->kv_num_heads != 0 && args->kv_num_heads != Hkv))
            return mha_error_set(MHA_STATUS_INVALID_VALUE,
                                 "q_num_heads %lld / kv_num_heads %lld disagree with q %s and k "
                                 "%s (give 0 for 4-D inputs)",
                                 (long long)args->q_num_heads, (long long)args->kv_num_heads,
                                 shape_text(&args->q, text, sizeof text),
                                 shape_text(&args->k, other, sizeof other));
    }
    as_rank4(&args->q, Hq, &pr->q);
    as_rank4(&args->k, Hkv, &pr->k);
    as_rank4(&args->v, Hkv, &pr->v);
    pr->batch = pr->q.shape[0];
    pr->q_heads = Hq;
    pr->kv_heads = Hkv;
    pr->q_len = pr->q.shape[2];
    pr->head_dim = pr->q.shape[3];
    pr->kv_len = pr->k.shape[2];
    pr->v_head_dim = pr->v.shape[3];
    pr->dtype = args->q.dtype;
    if (Hq <= 0 || Hkv <= 0 || Hq % Hkv != 0)
        return mha_error_set(MHA_STATUS_SHAPE_MISMATCH,
                             "q has %lld heads and k %lld: the query heads must be a positive "
                             "multiple of the KV heads",
                             (long long)Hq, (long long)Hkv);
    pr->group = Hq / Hkv;
    if (pr->batch <= 0 || pr->q_len <= 0 || pr->head_dim <= 0 || pr->v_head_dim <= 0)
        return mha_error_set(MHA_STATUS_INVALID_VALUE,
                             "q: shape %s and v: shape %s must have B, L, D and Dv > 0",
                             shape_text(&args->q, text, sizeof text),
                             shape_text(&args->v, other, sizeof other));
    int64_t k_expected[4] = {pr->batch, Hkv, pr->kv_len, pr->head_dim};
    int64_t v_expected[4] = {pr->batch, Hkv, pr->kv_len, pr->v_head_dim};
    if ((status = check_shape4("k", &args->k, k_expected,
                               "(q's batch and head size, the KV heads)")) ||
        (status = check_shape4("v", &args->v, v_expected, "(k's batch, heads and rows)")))
        return status;
    return MHA_STATUS_OK;
}

/* past/present or the in-place cache; fills past_len, total_len and views. */
static mha_status check_cache(const mha_core_args *args, const mha_capabilities *caps,
                              mha_core_problem *pr)
{
    const unsigned same = 1u << pr->dtype, rank4 = 1u << 4;
    const int past = args->past_key.data || args->past_value.data;
    const int present = args->present_key.data || args->present_value.data;
    const int cache = args->cache_key.data || args->cache_value.data;
    mha_status status;
    if (cache && (past || present))
        return mha_error_set(MHA_STATUS_INVALID_VALUE,
                             "cache_key/cache_value and past_key/present_key are two ways to "
                             "pass the cache: give one");
    if ((args->past_key.data != NULL) != (args->past_value.data != NULL) ||
        (args->present_key.data != NULL) != (args->present_value.data != NULL) ||
        (args->cache_key.data != NULL) != (args->cache_value.data != NULL)) {
        const char *pair = (args->past_key.data != NULL) != (args->past_value.data != NULL)
                               ? "past_key and past_value"
                           : (args->present_key.data != NULL) != (args->present_value.data != NULL)
                               ? "present_key and present_value"
                               : "cache_key and cache_value";
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "%s: give both or neither", pair);
    }
    if (!cache && args->cache_length != 0)
        return mha_error_set(MHA_STATUS_INVALID_VALUE,
                             "cache_length is %lld but no cache_key/cache_value is given",
                             (long long)args->cache_length);
    if (past || present || cache) {
        const char *what = cache ? "cache_key/cache_value" : "past/present";
        if ((status = need(caps, cache ? MHA_CORE_INPLACE_CACHE : MHA_CORE_CACHE, what)))
            return status;
    }
    if (args->nonpad_kv_seqlen.data && (past || cache))
        return mha_error_set(MHA_STATUS_INVALID_VALUE,
                             "nonpad_kv_seqlen cannot be combined with %s (ONNX: an external "
                             "cache is described by nonpad_kv_seqlen alone)",
                             past ? "past_key" : "cache_key");
    if (cache) {
        if ((status = check_view("cache_key", &args->cache_key, same, rank4, caps)) ||
            (status = check_view("cache_value", &args->cache_value, same, rank4, caps)))
            return status;
        int64_t capacity = args->cache_key.shape[2];
        if (args->cache_length < 0 || args->cache_length > capacity - pr->kv_len)
            return mha_error_set(MHA_STATUS_INVALID_VALUE,
                                 "cache_length is %lld but must be in [0, %lld]: the cache holds "
                                 "%lld rows and the call adds %lld",
                                 (long long)args->cache_length,
                                 (long long)(capacity - pr->kv_len), (long long)capacity,
                                 (long long)pr->kv_len);
        mha_view key4, value4;
        as_rank4(&args->cache_key, 1, &key4);
        as_rank4(&args->cache_value, 1, &value4);
        int64_t k_expected[4] = {pr->batch, pr->kv_heads, capacity, pr->head_dim};
        int64_t v_expected[4] = {pr->batch, pr->kv_heads, capacity, pr->v_head_dim};
        if ((status = check_shape4("cache_key", &args->cache_key, k_expected,
                                   "(B, Hkv, capacity, D)")) ||
            (status = check_shape4("cache_value", &args->cache_value, v_expected,
                                   "(B, Hkv, capacity, Dv)")))
            return status;
        pr->past_len = args->cache_length;
        pr->total_len = pr->past_len + pr->kv_len;
        pr->present_key = key4;
        pr->present_value = value4;
        pr->present_key.shape[2] = pr->present_value.shape[2] = pr->total_len;
        if (pr->past_len > 0) {
            pr->past_key = key4;
            pr->past_value = value4;
            pr->past_key.shape[2] = pr->past_value.shape[2] = pr->past_len;
        }
        pr->present_aliases_past = true;
        return MHA_STATUS_OK;
    }
    if (past) {
        if ((status = check_view("past_key", &args->past_key, same, rank4, caps)) ||
            (status = check_view("past_value", &args->past_value, same, rank4, caps)))
            return status;
        as_rank4(&args->past_key, 1, &pr->past_key);
        as_rank4(&args->past_value, 1, &pr->past_value);
        int64_t P = pr->past_key.shape[2];
        int64_t k_expected[4] = {pr->batch, pr->kv_heads, P, pr->head_dim};
        int64_t v_expected[4] = {pr->batch, pr->kv_heads, P, pr->v_head_dim};
        if ((status = check_shape4("past_key", &args->past_key, k_expected,
                                   "(B, Hkv, P, D)")) ||
            (status = check_shape4("past_value", &args->past_value, v_expected,
                                   "(B, Hkv, P, Dv)")))
            return status;
        pr->past_len = P;
        if (P == 0)
        {
            memset(&pr->past_key, 0, sizeof pr->past_key);
            memset(&pr->past_value, 0, sizeof pr->past_value);
        }
    }
    pr->total_len = pr->past_len + pr->kv_len;
    if (pr->total_len <= 0)
        return mha_error_set(MHA_STATUS_INVALID_VALUE,
                             "k has %lld rows and the past %lld: at least one key is needed",
                             (long long)pr->kv_len, (long long)pr->past_len);
    if (present) {
        if ((status = check_view("present_key", &args->present_key, same, rank4, caps)) ||
            (status = check_view("present_value", &args->present_value, same, rank4, caps)))
            return status;
        as_rank4(&args->present_key, 1, &pr->present_key);
        as_rank4(&args->present_value, 1, &pr->present_value);
        int64_t k_expected[4] = {pr->batch, pr->kv_heads, pr->total_len, pr->head_dim};
        int64_t v_expected[4] = {pr->batch, pr->kv_heads, pr->total_len, pr->v_head_dim};
        if ((status = check_shape4("present_key", &args->present_key,
                                   k_expected, "(B, Hkv, P + S, D)")) ||
            (status = check_shape4("present_value", &args->present_value,
                                   v_expected, "(B, Hkv, P + S, Dv)")))
            return status;
    }
    return MHA_STATUS_OK;
}

/* attn_mask: rank 1..4, broadcast right-aligned to (B, Hq, L, T) with a last
 * dimension of at most T. */
static mha_status check_mask(const mha_core_args *args, const mha_capabilities *caps,
                             mha_core_problem *pr)
{
    const mha_view *mask = &args->attn_mask;
    if (!mask->data)
        return MHA_STATUS_OK;
    mha_status status = need(caps, MHA_CORE_MASK, "attn_mask");
    const unsigned kinds = 1u << MHA_DTYPE_BOOL | 1u << MHA_DTYPE_F32 | 1u << MHA_DTYPE_F16 |
                           1u << MHA_DTYPE_BF16;
    if (status ||
        (status = check_view("attn_mask", mask, kinds, 1u << 1 | 1u << 2 | 1u << 3 | 1u << 4,
                             caps)))
        return status;
    if (mask->dtype != MHA_DTYPE_BOOL && !(caps->core_dtypes & (1u << mask->dtype)))
        return mha_error_set(MHA_STATUS_UNSUPPORTED,
                             "attn_mask.dtype is %s, which this backend's core does not read",
                             mha_dtype_name(mask->dtype));
    if (args->mask_polarity != MHA_BOOL_TRUE_ATTENDS && args->mask_polarity != MHA_BOOL_TRUE_MASKS)
        return mha_error_set(MHA_STATUS_INVALID_VALUE,
                             "mask_polarity is %d but must be MHA_BOOL_TRUE_ATTENDS or "
                             "MHA_BOOL_TRUE_MASKS",
                             (int)args->mask_polarity);
    const int64_t target[4] = {pr->batch, pr->q_heads, pr->q_len, pr->total_len};
    const char *axis[4] = {"B", "Hq", "L", "P + S"};
    int64_t strides[MHA_VIEW_MAX_RANK];
    strides_of(mask, strides);
    mha_view out = *mask;
    out.next = NULL;
    out.rank = 4;
    char text[160];
    for (int i = 0; i < 4; ++i) {
        int source = mask->rank - 4 + i; /* right-aligned */
        int64_t size = source >= 0 ? mask->shape[source] : 1;
        int64_t stride = source >= 0 ? strides[source] : 0;
        if (i == 3) {
            if (size < 1 || size > target[3])
                return mha_error_set(MHA_STATUS_SHAPE_MISMATCH,
                                     "attn_mask: shape %s has %lld key columns but must have 1 "
                                     "to P + S = %lld",
                                     shape_text(mask, text, sizeof text), (long long)size,
                                     (long long)target[3]);
            out.shape[3] = size;
            out.strides[3] = stride;
            continue;
        }
        if (size != target[i] && size != 1)
            return mha_error_set(MHA_STATUS_SHAPE_MISMATCH,
                                 "attn_mask: shape %s does not broadcast to (%lld, %lld, %lld, "
                                 "%lld): dimension %d is %lld but must be 1 or %s = %lld",
                                 shape_text(mask, text, sizeof text), (long long)target[0],
                                 (long long)target[1], (long long)target[2], (long long)target[3],
                                 source, (long long)size, axis[i], (long long)target[i]);
        out.shape[i] = target[i];
        out.strides[i] = size == 1 ? 0 : stride;
    }
    for (int i = 4; i < MHA_VIEW_MAX_RANK; ++i)
        out.shape[i] = out.strides[i] = 0;
    pr->mask = out;
    pr->mask_cols = out.shape[3];
    pr->mask_true_attends = args->mask_polarity == MHA_BOOL_TRUE_ATTENDS;
    return MHA_STATUS_OK;
}

static mha_status check_nonpad(const mha_core_args *args, const mha_capabilities *caps,
                               mha_core_problem *pr)
{
    const mha_view *nonpad = &args->nonpad_kv_seqlen;
    if (!nonpad->data)
        return MHA_STATUS_OK;
    mha_status status = need(caps, MHA_CORE_VALID_LEN, "nonpad_kv_seqlen");
    if (status || (status = check_view("nonpad_kv_seqlen", nonpad,
                                       1u << MHA_DTYPE_I64 | 1u << MHA_DTYPE_I32, 1u << 1, caps)))
        return status;
    char text[160];
    if (nonpad->shape[0] != pr->batch)
        return mha_error_set(MHA_STATUS_SHAPE_MISMATCH,
                             "nonpad_kv_seqlen: shape %s but expected (%lld,) (B)",
                             shape_text(nonpad, text, sizeof text), (long long)pr->batch);
    if (nonpad->memory == MHA_MEMORY_HOST) {
        int64_t strides[MHA_VIEW_MAX_RANK];
        strides_of(nonpad, strides);
        for (int64_t b = 0; b < pr->batch; ++b) {
            const char *at = (const char *)nonpad->data +
                             (size_t)(b * strides[0]) * mha_dtype_size(nonpad->dtype);
            int64_t value;
            if (nonpad->dtype == MHA_DTYPE_I64) {
                memcpy(&value, at, sizeof value);
            } else {
                int32_t narrow;
                memcpy(&narrow, at, sizeof narrow);
                value = narrow;
            }
            if (value < 0 || value > pr->total_len)
                return mha_error_set(MHA_STATUS_INVALID_VALUE,
                                     "nonpad_kv_seqlen[%lld] is %lld but must be in [0, %lld] "
                                     "(the keys there are)",
                                     (long long)b, (long long)value, (long long)pr->total_len);
        }
    }
    pr->nonpad = *nonpad;
    pr->nonpad.next = NULL;
    int64_t strides[MHA_VIEW_MAX_RANK];
    strides_of(nonpad, strides);
    pr->nonpad.strides[0] = strides[0];
    pr->offset_from_nonpad = true;
    return MHA_STATUS_OK;
}

static mha_status check_options(const mha_core_args *args, const mha_capabilities *caps,
                                mha_core_problem *pr)
{
    mha_status status;
    if (!(args->scale == 0.0f || (isfinite(args->scale) && args->scale > 0.0f)))
        return mha_error_set(MHA_STATUS_INVALID_VALUE,
                             "scale is %g but must be > 0 and finite (or 0 for 1/sqrt(D))",
                             (double)args->scale);
    pr->scale = args->scale != 0.0f ? args->scale : (float)(1.0 / sqrt((double)pr->head_dim));
    if (!(isfinite(args->softcap) && args->softcap >= 0.0f))
        return mha_error_set(MHA_STATUS_INVALID_VALUE,
                             "softcap is %g but must be >= 0 and finite (0 = off)",
                             (double)args->softcap);
    pr->softcap = args->softcap;
    if (pr->softcap > 0.0f && (status = need(caps, MHA_CORE_SOFTCAP, "softcap")))
        return status;
    pr->is_causal = args->is_causal;
    if (pr->is_causal && (status = need(caps, MHA_CORE_CAUSAL, "is_causal")))
        return status;
    if (args->left_window_size < -1 || args->right_window_size < -1)
        return mha_error_set(MHA_STATUS_INVALID_VALUE,
                             "%s is %lld but must be -1 (unbounded) or >= 0",
                             args->left_window_size < -1 ? "left_window_size" : "right_window_size",
                             (long long)(args->left_window_size < -1 ? args->left_window_size
                                                                     : args->right_window_size));
    pr->left_window = args->left_window_size;
    pr->right_window = args->right_window_size;
    if ((pr->left_window >= 0 || pr->right_window >= 0) &&
        (status = need(caps, MHA_CORE_WINDOW, "left/right_window_size")))
        return status;
    if (args->qk_matmul_output_mode < 0 || args->qk_matmul_output_mode > 3)
        return mha_error_set(MHA_STATUS_INVALID_VALUE,
                             "qk_matmul_output_mode is %d but must be 0, 1, 2 or 3",
                             (int)args->qk_matmul_output_mode);
    pr->qk_output_mode = args->qk_matmul_output_mode;
    if (args->softmax_precision < 0)
        return mha_error_set(MHA_STATUS_INVALID_VALUE,
                             "softmax_precision is %d but must be an ONNX dtype code (or 0)",
                             (int)args->softmax_precision);
    if (pr->group > 1 && (status = need(caps, MHA_CORE_GQA, "q_num_heads > kv_num_heads")))
        return status;
    if (pr->v_head_dim != pr->head_dim && (status = need(caps, MHA_CORE_VDIM, "Dv != D")))
        return status;
    return MHA_STATUS_OK;
}

static mha_status check_outputs(const mha_core_args *args, const mha_capabilities *caps,
                                mha_core_problem *pr)
{
    const unsigned same = 1u << pr->dtype;
    mha_status status;
    if ((status = check_view("y", &args->y, same, 1u << args->q.rank, caps)))
        return status;
    as_rank4(&args->y, pr->q_heads, &pr->y);
    int64_t y_expected[4] = {pr->batch, pr->q_heads, pr->q_len, pr->v_head_dim};
    if ((status = check_shape4("y", &args->y, y_expected,
                               args->q.rank == 3 ? "(B, L, Hq*Dv)" : "(B, Hq, L, Dv)")))
        return status;
    if (args->qk_matmul_output.data) {
        if ((status = need(caps, MHA_CORE_QK_OUTPUT, "qk_matmul_output")) ||
            (status = check_view("qk_matmul_output", &args->qk_matmul_output, same, 1u << 4,
                                 caps)))
            return status;
        as_rank4(&args->qk_matmul_output, 1, &pr->qk);
        int64_t qk_expected[4] = {pr->batch, pr->q_heads, pr->q_len, pr->total_len};
        if ((status = check_shape4("qk_matmul_output", &args->qk_matmul_output,
                                   qk_expected, "(B, Hq, L, P + S)")))
            return status;
    }
    /* Outputs apart from the inputs and from each other; the in-place cache's
     * present rows are its past rows by design, but must not meet k or v. */
    static const mha_view absent;
    const struct {
        const char *name;
        const mha_view *view;
    } inputs[] = {
        {"q", &pr->q},
        {"k", &pr->k},
        {"v", &pr->v},
        {"attn_mask", &pr->mask},
        {"nonpad_kv_seqlen", &pr->nonpad},
        {"past_key", pr->present_aliases_past ? &absent : &pr->past_key},
        {"past_value", pr->present_aliases_past ? &absent : &pr->past_value},
    }, outputs[] = {
        {"y", &pr->y},
        {"present_key", &pr->present_key},
        {"present_value", &pr->present_value},
        {"qk_matmul_output", &pr->qk},
    };
    for (size_t o = 0; o < sizeof outputs / sizeof outputs[0]; ++o) {
        for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; ++i)
            if ((status = check_apart(outputs[o].name, outputs[o].view, inputs[i].name,
                                      inputs[i].view)))
                return status;
        for (size_t p = o + 1; p < sizeof outputs / sizeof outputs[0]; ++p)
            if ((status = check_apart(outputs[o].name, outputs[o].view, outputs[p].name,
                                      outputs[p].view)))
                return status;
    }
    return MHA_STATUS_OK;
}

static int views_dense(const mha_core_problem *pr)
{
    const mha_view *views[] = {&pr->q,   &pr->k,           &pr->v,             &pr->past_key,
                               &pr->past_value, &pr->y,    &pr->present_key, &pr->present_value,
                               &pr->qk};
    for (size_t i = 0; i < sizeof views / sizeof views[0]; ++i)
        if (views[i]->data && !is_dense4(views[i]))
            return 0;
    return 1;
}

mha_status core_validate(const mha_core_args *args, const mha_capabilities *caps,
                         mha_core_problem *problem)
{
    memset(problem, 0, sizeof *problem);
    problem->struct_size = sizeof *problem;
    if (!(caps->core_features & MHA_CORE_AVAILABLE))
        return mha_error_set(MHA_STATUS_UNSUPPORTED,
                             "this backend has no attention core (mha_capabilities.core_features "
                             "is 0)");
    mha_status status;
    if ((status = check_qkv(args, caps, problem)) || (status = check_cache(args, caps, problem)) ||
        (status = check_mask(args, caps, problem)) ||
        (status = check_nonpad(args, caps, problem)) ||
        (status = check_options(args, caps, problem)) ||
        (status = check_outputs(args, caps, problem)))
        return status;
    if (!views_dense(problem) && (status = need(caps, MHA_CORE_STRIDED, "strided views")))
        return status;
    return MHA_STATUS_OK;
}

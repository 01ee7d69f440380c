/* view.c - mha_view (ABI 1.1): initialisers and the one check every call
 * taking a view makes (docs/abi.md). */
#include <string.h>

#include "error.h"
#include "internal.h"

void mha_view_init(mha_view *view)
{
    if (!view)
        return;
    memset(view, 0, sizeof *view);
    view->struct_size = sizeof *view;
}

mha_view mha_view_host(void *data, mha_dtype dtype, int32_t rank, const int64_t *shape)
{
    mha_view view;
    mha_view_init(&view);
    view.data = data;
    view.dtype = dtype;
    view.rank = rank;
    view.memory = MHA_MEMORY_HOST;
    for (int32_t i = 0; shape && i < rank && i < MHA_VIEW_MAX_RANK; ++i)
        view.shape[i] = shape[i];
    return view;
}

/* a * b + c into *out for a, b, c >= 0; 0 on overflow of int64_t. */
static int multiply_add(int64_t a, int64_t b, int64_t c, int64_t *out)
{
    if (a != 0 && b > (INT64_MAX - c) / a)
        return 0;
    *out = a * b + c;
    return 1;
}

mha_status mha_view_check(const char *name, const mha_view *view, int64_t *elements,
                          int64_t *extent)
{
    mha_error_clear();
    if (!name)
        name = "view";
    if (!view)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "%s is NULL", name);
    if (view->struct_size < MHA_VIEW_SIZE_V1)
        return mha_error_set(MHA_STATUS_INVALID_STRUCT_SIZE,
                             "%s.struct_size is %zu but must be at least %zu (use mha_view_init "
                             "or mha_view_host)",
                             name, view->struct_size, (size_t)MHA_VIEW_SIZE_V1);
    if (view->next)
        return mha_error_set(MHA_STATUS_UNSUPPORTED,
                             "%s.next: no view extensions are defined yet", name);
    if (!view->data)
        return mha_error_set(MHA_STATUS_NULL_ARGUMENT, "%s.data is NULL", name);
    size_t element_size = mha_dtype_size(view->dtype);
    if (element_size == 0)
        return mha_error_set(MHA_STATUS_INVALID_DTYPE, "%s.dtype is %d, not a known dtype", name,
                             (int)view->dtype);
    if (view->memory == MHA_MEMORY_HOST && view->offset != 0)
        return mha_error_set(MHA_STATUS_INVALID_VALUE,
                             "%s.offset is %llu but must be 0 for host memory", name,
                             (unsigned long long)view->offset);
    if (view->rank < 0 || view->rank > MHA_VIEW_MAX_RANK)
        return mha_error_set(MHA_STATUS_SHAPE_MISMATCH, "%s.rank is %d but must be 0 to %d", name,
                             (int)view->rank, MHA_VIEW_MAX_RANK);
    int dense = 1;
    for (int32_t i = 0; i < view->rank; ++i) {
        if (view->shape[i] < 0)
            return mha_error_set(MHA_STATUS_INVALID_VALUE,
                                 "%s.shape[%d] is %lld but must be >= 0", name, (int)i,
                                 (long long)view->shape[i]);
        if (view->strides[i] < 0)
            return mha_error_set(MHA_STATUS_INVALID_VALUE,
                                 "%s.strides[%d] is %lld but must be >= 0 (0 everywhere: dense)",
                                 name, (int)i, (long long)view->strides[i]);
        dense &= view->strides[i] == 0;
    }
    /* Elements, and the extent: 1 + sum of (shape[i] - 1) * stride[i]. */
    int64_t count = 1, last = 0, dense_stride = 1;
    for (int32_t i = view->rank - 1; i >= 0; --i) {
        int64_t size = view->shape[i];
        int64_t stride = dense ? dense_stride : view->strides[i];
        if (!multiply_add(count, size, 0, &count) ||
            (size > 0 && !multiply_add(size - 1, stride, last, &last)) ||
            (dense && !multiply_add(dense_stride, size, 0, &dense_stride)))
            return mha_error_set(MHA_STATUS_SIZE_OVERFLOW,
                                 "%s: its shape and strides reach past what int64 can count",
                                 name);
    }
    int64_t reach = count == 0 ? 0 : last + 1;
    if ((uint64_t)reach > (SIZE_MAX - view->offset) / element_size)
        return mha_error_set(MHA_STATUS_SIZE_OVERFLOW,
                             "%s: %lld elements of %zu bytes from offset %llu are larger than "
                             "memory",
                             name, (long long)reach, element_size,
                             (unsigned long long)view->offset);
    if (elements)
        *elements = count;
    if (extent)
        *extent = reach;
    return MHA_STATUS_OK;
}

/* testkit_compare.c - see testkit_compare.h. */
#include "testkit_compare.h"

#include <math.h>
#include <stdbool.h>

tk_tolerance tk_tolerance_for(tk_accumulate accumulate)
{
    static const tk_tolerance table[TK_ACCUMULATE_COUNT] = {
        [TK_ACCUMULATE_F64] = {1e-5, 1e-4},
        [TK_ACCUMULATE_F32] = {1e-4, 1e-3},
    };
    return (unsigned)accumulate < TK_ACCUMULATE_COUNT ? table[accumulate]
                                                      : table[TK_ACCUMULATE_F32];
}

void tk_diff_init(tk_diff *diff)
{
    diff->bad = 0;
    diff->first_bad = -1;
    diff->max_abs = 0.0;
    diff->max_rel = 0.0;
}

size_t tk_compare(const float *a, const float *b, size_t n, tk_tolerance tol, tk_diff *diff)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; ++i) {
        const double x = a[i], y = b[i];
        bool ok;
        if (isnan(x) || isnan(y) || isinf(x) || isinf(y)) {
            ok = isnan(x) ? isnan(y) : x == y;
            if (!ok)
                diff->max_abs = diff->max_rel = INFINITY;
        } else {
            const double d = fabs(x - y);
            if (d > diff->max_abs)
                diff->max_abs = d;
            if (fabs(y) > 0.0 && d / fabs(y) > diff->max_rel)
                diff->max_rel = d / fabs(y);
            ok = d <= tol.atol + tol.rtol * fabs(y);
        }
        if (!ok) {
            if (bad == 0 && diff->first_bad < 0)
                diff->first_bad = (long)i;
            ++bad;
        }
    }
    diff->bad += bad;
    return bad;
}

long tk_first_bad(const float *a, const float *b, size_t n, tk_tolerance tol)
{
    tk_diff d;
    tk_diff_init(&d);
    tk_compare(a, b, n, tol, &d);
    return d.first_bad;
}

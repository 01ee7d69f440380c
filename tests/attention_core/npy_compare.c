/*
 * npy_compare GOT.npy WANT.npy: compares an output of `mha attention` with its
 * expected file (tests/data/attention_core), element by element.
 *
 * Both files must have the same dtype and shape. The tolerance follows the
 * dtype (tests/data/attention_core/README.md says why):
 *   float32: |got - want| <= 1e-5 + 1e-5 * |want|
 *   float16: |got - want| <= 2^-14 + 2^-10 * |want|  (one float16 rounding on
 *            each side, 2 * 2^-11 relative, and float32 accumulation error)
 *   bool, int32, int64: equal.
 * NaN must meet NaN and an infinity the same infinity.
 *
 * Exit status: 0 when every element is within tolerance; 1 with one line on
 * stdout naming the worst element (index, got, want, difference, allowed)
 * otherwise, or naming the dtype or shape difference; 2 on a usage or read
 * error (one line on stderr).
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "npy.h"

/* IEEE binary16 -> binary32 (exact: every half is a float). */
static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    uint32_t bits;
    if (exponent == 0x1fu) {                     /* inf or NaN */
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent != 0) {                  /* normal: rebias 15 -> 127 */
        bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {                  /* signed zero */
        bits = sign;
    } else {                                     /* subnormal: mantissa * 2^-24 */
        float value = (float)mantissa * 0x1p-24f;
        return sign ? -value : value;
    }
    float out;
    memcpy(&out, &bits, sizeof out);
    return out;
}

static double element(const npy_array *a, size_t i) {
    switch (a->dtype) {
    case MHA_DTYPE_F32:
        return ((const float *)a->data)[i];
    case MHA_DTYPE_F16:
        return half_to_float(((const uint16_t *)a->data)[i]);
    case MHA_DTYPE_BOOL:
        return ((const unsigned char *)a->data)[i] != 0;
    case MHA_DTYPE_I32:
        return ((const int32_t *)a->data)[i];
    case MHA_DTYPE_I64:
        return (double)((const int64_t *)a->data)[i];
    default:
        return NAN;
    }
}

static const char *dtype_name(mha_dtype dtype) {
    switch (dtype) {
    case MHA_DTYPE_F32: return "float32";
    case MHA_DTYPE_F16: return "float16";
    case MHA_DTYPE_BOOL: return "bool";
    case MHA_DTYPE_I32: return "int32";
    case MHA_DTYPE_I64: return "int64";
    default: return "unknown";
    }
}

static void format_shape(const npy_array *a, char *out, size_t size) {
    size_t used = (size_t)snprintf(out, size, "(");
    for (int32_t d = 0; d < a->rank && used < size; ++d)
        used += (size_t)snprintf(out + used, size - used, "%s%" PRId64, d ? ", " : "",
                                 a->shape[d]);
    if (used < size)
        snprintf(out + used, size - used, "%s)", a->rank == 1 ? "," : "");
}

static void format_index(const npy_array *a, size_t flat, char *out, size_t size) {
    int64_t index[MHA_MAX_RANK];
    for (int32_t d = a->rank - 1; d >= 0; --d) {
        index[d] = a->shape[d] ? (int64_t)(flat % (size_t)a->shape[d]) : 0;
        flat = a->shape[d] ? flat / (size_t)a->shape[d] : 0;
    }
    size_t used = (size_t)snprintf(out, size, "[");
    for (int32_t d = 0; d < a->rank && used < size; ++d)
        used += (size_t)snprintf(out + used, size - used, "%s%" PRId64, d ? ", " : "", index[d]);
    if (used < size)
        snprintf(out + used, size - used, "]");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: npy_compare GOT.npy WANT.npy\n");
        return 2;
    }
    npy_array got, want;
    char err[512];
    if (npy_read(argv[1], &got, err, sizeof err) != MHA_STATUS_OK) {
        fprintf(stderr, "npy_compare: %s\n", err);
        return 2;
    }
    if (npy_read(argv[2], &want, err, sizeof err) != MHA_STATUS_OK) {
        fprintf(stderr, "npy_compare: %s\n", err);
        npy_array_free(&got);
        return 2;
    }
    int status = 0;
    char got_shape[256], want_shape[256];
    format_shape(&got, got_shape, sizeof got_shape);
    format_shape(&want, want_shape, sizeof want_shape);
    if (got.dtype != want.dtype) {
        printf("%s: dtype %s, expected %s\n", argv[1], dtype_name(got.dtype),
               dtype_name(want.dtype));
        status = 1;
    } else if (strcmp(got_shape, want_shape) != 0 || got.count != want.count) {
        printf("%s: shape %s, expected %s\n", argv[1], got_shape, want_shape);
        status = 1;
    } else {
        double atol = 0.0, rtol = 0.0;
        if (want.dtype == MHA_DTYPE_F32) {
            atol = 1e-5;
            rtol = 1e-5;
        } else if (want.dtype == MHA_DTYPE_F16) {
            atol = 0x1p-14;
            rtol = 0x1p-10;
        }
        /* The worst element: the largest |got - want| / allowed; a non-finite
         * mismatch (NaN against a number, a wrong infinity) is the worst. */
        size_t worst = 0, bad = 0;
        double worst_ratio = 0.0;
        for (size_t i = 0; i < want.count; ++i) {
            double a = element(&got, i), b = element(&want, i);
            double ratio;
            if (isnan(b) || isnan(a))
                ratio = isnan(a) && isnan(b) ? 0.0 : INFINITY;
            else if (isinf(b) || isinf(a))
                ratio = a == b ? 0.0 : INFINITY;
            else {
                double allowed = atol + rtol * fabs(b);
                double diff = fabs(a - b);
                ratio = diff <= allowed ? 0.0 : (allowed > 0 ? diff / allowed : INFINITY);
            }
            if (ratio > 0.0) {
                ++bad;
                if (ratio > worst_ratio) {
                    worst_ratio = ratio;
                    worst = i;
                }
            }
        }
        if (bad) {
            char index[256];
            format_index(&want, worst, index, sizeof index);
            double a = element(&got, worst), b = element(&want, worst);
            printf("%s: %zu of %zu elements differ, worst at %s: got %.9g, expected %.9g "
                   "(|diff| %.3g, allowed %.3g)\n",
                   argv[1], bad, want.count, index, a, b, fabs(a - b),
                   atol + rtol * fabs(b));
            status = 1;
        }
    }
    npy_array_free(&got);
    npy_array_free(&want);
    return status;
}

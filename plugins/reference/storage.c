/* storage.c - reading and writing one element of a storage dtype as a
 * double: float32, float16 (IEEE binary16) and bfloat16, rounded once to
 * nearest even on the way out (infinities, NaN and subnormals included). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "reference.h"

static double half_to_double(uint16_t h)
{
    int sign = h >> 15, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    double value;
    if (exponent == 0)
        value = ldexp((double)mantissa, -24); /* zero or subnormal */
    else if (exponent == 31)
        value = mantissa ? NAN : INFINITY;
    else
        value = ldexp((double)(mantissa | 0x400), exponent - 25);
    return sign ? -value : value;
}

/* A double rounded once, to nearest even, into a 16-bit float with
 * `mantissa_bits` stored bits and `exponent_bits` of exponent: binary16
 * (10, 5) or bfloat16 (7, 8). Overflow gives infinity, tiny values
 * subnormals or zero, NaN a quiet NaN. */
static uint16_t encode16(double value, int mantissa_bits, int exponent_bits)
{
    const int bias = (1 << (exponent_bits - 1)) - 1;
    const uint16_t sign = signbit(value) ? (uint16_t)0x8000 : 0;
    const uint16_t exponent_all = (uint16_t)(((1 << exponent_bits) - 1) << mantissa_bits);
    double magnitude = fabs(value);
    if (isnan(value))
        return (uint16_t)(sign | exponent_all | (1u << (mantissa_bits - 1)));
    if (magnitude == 0.0)
        return sign;
    int exponent; /* magnitude = fraction * 2^exponent, fraction in [0.5, 1) */
    frexp(magnitude, &exponent);
    exponent -= 1; /* magnitude = 1.f * 2^exponent */
    if (exponent < 1 - bias) {
        /* Subnormal: units of 2^(1 - bias - mantissa_bits); a carry to
         * 2^mantissa_bits is the smallest normal, encoded right as is. */
        double units = nearbyint(ldexp(magnitude, mantissa_bits - (1 - bias)));
        return (uint16_t)(sign | (uint16_t)units);
    }
    double scaled = nearbyint(ldexp(magnitude, mantissa_bits - exponent));
    if (scaled >= ldexp(1.0, mantissa_bits + 1)) { /* rounded up to the next power of two */
        scaled /= 2.0;
        exponent += 1;
    }
    if (exponent > bias)
        return (uint16_t)(sign | exponent_all);
    return (uint16_t)(sign | (uint16_t)((exponent + bias) << mantissa_bits) |
                      (uint16_t)((uint32_t)scaled - (1u << mantissa_bits)));
}

static double bf16_to_double(uint16_t b)
{
    uint32_t x = (uint32_t)b << 16;
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}

double mha_ref_load(const void *data, int64_t index, mha_dtype dtype)
{
    switch (dtype) {
    case MHA_DTYPE_F32: {
        float f;
        memcpy(&f, (const char *)data + index * 4, sizeof f);
        return f;
    }
    case MHA_DTYPE_F16: {
        uint16_t h;
        memcpy(&h, (const char *)data + index * 2, sizeof h);
        return half_to_double(h);
    }
    case MHA_DTYPE_BF16: {
        uint16_t b;
        memcpy(&b, (const char *)data + index * 2, sizeof b);
        return bf16_to_double(b);
    }
    case MHA_DTYPE_BOOL:
        return ((const uint8_t *)data)[index] != 0;
    case MHA_DTYPE_I32: {
        int32_t i;
        memcpy(&i, (const char *)data + index * 4, sizeof i);
        return i;
    }
    case MHA_DTYPE_I64: {
        int64_t i;
        memcpy(&i, (const char *)data + index * 8, sizeof i);
        return (double)i;
    }
    case MHA_DTYPE_NONE:
        break;
    }
    return NAN;
}

void mha_ref_store(void *data, int64_t index, mha_dtype dtype, double value)
{
    switch (dtype) {
    case MHA_DTYPE_F32: {
        float f = (float)value;
        memcpy((char *)data + index * 4, &f, sizeof f);
        break;
    }
    case MHA_DTYPE_F16:
    case MHA_DTYPE_BF16: {
        uint16_t bits = dtype == MHA_DTYPE_F16 ? encode16(value, 10, 5) : encode16(value, 7, 8);
        memcpy((char *)data + index * 2, &bits, sizeof bits);
        break;
    }
    default:
        break;
    }
}

/* philox_test.cl - exposes cl/philox.cl to tests/opencl/test_philox.c. */
uint4 mha_philox4x32_10(uint4 counter, uint2 key);
float mha_dropout_uniform(ulong seed, ulong idx);
int mha_dropout_keep(ulong seed, ulong idx, float p);

/* in: 6 words per item (c0, c1, c2, c3, k0, k1); out: 4 words per item. */
__kernel void philox_words(__global const uint *in, __global uint *out)
{
    size_t i = get_global_id(0);
    __global const uint *v = in + 6 * i;
    uint4 r = mha_philox4x32_10((uint4)(v[0], v[1], v[2], v[3]), (uint2)(v[4], v[5]));
    out[4 * i + 0] = r.x;
    out[4 * i + 1] = r.y;
    out[4 * i + 2] = r.z;
    out[4 * i + 3] = r.w;
}

__kernel void philox_uniform(__global const ulong *seeds, __global const ulong *idx, float p,
                             __global float *u, __global int *keep)
{
    size_t i = get_global_id(0);
    u[i] = mha_dropout_uniform(seeds[i], idx[i]);
    keep[i] = mha_dropout_keep(seeds[i], idx[i], p);
}

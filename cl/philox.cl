/*
 * philox.cl - the dropout random stream, a line-for-line copy of
 * include/mha/philox.h in OpenCL C 1.2. Both must agree bit for bit
 * (tests/opencl checks known answers against the C version).
 *
 *   key      (k0, k1) = (seed & 0xffffffff, seed >> 32)
 *   counter  (idx/4 & 0xffffffff, idx/4 >> 32, 0, 0)
 *   word     output word (idx % 4) of Philox4x32-10
 *   uniform  u = (word >> 8) * 2^-24; kept iff u >= p
 */
#define MHA_PHILOX_M0 0xD2511F53u
#define MHA_PHILOX_M1 0xCD9E8D57u
#define MHA_PHILOX_W0 0x9E3779B9u
#define MHA_PHILOX_W1 0xBB67AE85u

uint4 mha_philox4x32_10(uint4 counter, uint2 key);
float mha_dropout_uniform(ulong seed, ulong idx);
int mha_dropout_keep(ulong seed, ulong idx, float p);

uint4 mha_philox4x32_10(uint4 counter, uint2 key)
{
    uint c0 = counter.x, c1 = counter.y, c2 = counter.z, c3 = counter.w;
    uint k0 = key.x, k1 = key.y;
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k0 += MHA_PHILOX_W0;
            k1 += MHA_PHILOX_W1;
        }
        uint hi0 = mul_hi(MHA_PHILOX_M0, c0), lo0 = MHA_PHILOX_M0 * c0;
        uint hi1 = mul_hi(MHA_PHILOX_M1, c2), lo1 = MHA_PHILOX_M1 * c2;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    return (uint4)(c0, c1, c2, c3);
}

float mha_dropout_uniform(ulong seed, ulong idx)
{
    ulong block = idx >> 2;
    uint4 counter = (uint4)((uint)block, (uint)(block >> 32), 0u, 0u);
    uint2 key = (uint2)((uint)seed, (uint)(seed >> 32));
    uint4 words = mha_philox4x32_10(counter, key);
    uint w;
    switch ((uint)(idx & 3u)) {
    case 0: w = words.x; break;
    case 1: w = words.y; break;
    case 2: w = words.z; break;
    default: w = words.w; break;
    }
    return (float)(w >> 8) * (1.0f / 16777216.0f);
}

int mha_dropout_keep(ulong seed, ulong idx, float p)
{
    return mha_dropout_uniform(seed, idx) >= p;
}

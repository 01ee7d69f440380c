/*
 * layout.c - the CLBlast layout of the projections and the per-head GEMMs.
 *
 * The projections, X W^T for X (rows, kdim) row-major and PyTorch's W
 * (E, kdim), are made as CLBlast's padded GEMM kernel (GEMMK = 0) reads its
 * operands in place: column-major C^T (E x rows) = A B^T with A = W^T
 * (kdim, E) as uploaded (attention.c), B = X^T (kdim, rows') from our
 * mha_transpose, each at offset 0 of a buffer of its own, and rows' padded
 * to CLBlast's tile. Handed X and W as they come, CLBlast transposes both in
 * kernels of its own and pads C in and out: on PoCL that cost 25-35% of a
 * 16384 x 1024 x 512 projection (bench/results/2026-11-30-layout).
 */
#include <stdint.h>

#include "call.h"

mha_status ocl_gemm_temp_size(ocl_call *c, size_t m, size_t n, size_t k, size_t *temp)
{
    CLBlastStatusCode s = (CLBlastStatusCode)ocl_fault(c->ctx, "CLBlastSGemmTempBufferSize");
    *temp = 0;
    if (s == CLBlastSuccess)
        s = CLBlastSGemmTempBufferSize(CLBlastLayoutColMajor, CLBlastTransposeNo,
                                       CLBlastTransposeYes, m, n, k, 0, m, 0, n, 0, m, &c->queue,
                                       temp);
    return s == CLBlastSuccess ? MHA_STATUS_OK : ocl_clblast_fail(s, "CLBlastSGemmTempBufferSize");
}

/* The fewest padding rows with the smallest temporary buffer CLBlast asks
 * for. CLBlast does not tell its tile sizes, only what a call needs; these
 * are the multiples its tuned tiles come in. */
mha_status ocl_padded_rows(ocl_call *c, size_t rows, size_t k, size_t *padded)
{
    static const size_t multiples[] = {1, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256};
    size_t best_temp = SIZE_MAX;
    *padded = rows;
    for (size_t i = 0; i < sizeof multiples / sizeof multiples[0] && best_temp > 0; ++i) {
        const size_t n = (rows + multiples[i] - 1) / multiples[i] * multiples[i];
        size_t temp = 0;
        mha_status st = ocl_gemm_temp_size(c, (size_t)c->att->E, n, k, &temp);
        if (st != MHA_STATUS_OK)
            return st;
        if (temp < best_temp) {
            best_temp = temp;
            *padded = n;
        }
    }
    return MHA_STATUS_OK;
}

mha_status ocl_transpose_rows(ocl_call *c, cl_mem src, size_t src_off, size_t src_ld,
                              size_t rows, size_t cols, ocl_buffer *xt, size_t ld,
                              const char *what)
{
    mha_status st = ocl_reserve_scratch(c, xt, cols * ld * sizeof(float), what);
    if (st != MHA_STATUS_OK)
        return st;
    ocl_args a = ocl_args_of(c, OCL_K_TRANSPOSE);
    arg_mem(&a, src);
    arg_ulong(&a, src_off);
    arg_ulong(&a, src_ld);
    arg_int(&a, (int64_t)rows);
    arg_int(&a, (int64_t)cols);
    arg_mem(&a, xt->mem);
    arg_int(&a, (int64_t)ld);
    return ocl_launch(c, &a, (ld + 7) / 8 * ((cols + 7) / 8), 0);
}

/* Rows padded by ocl_padded_rows. Hands CLBlast our own temporary buffer, if
 * it wants one at all, so that it allocates nothing. */
mha_status ocl_project(ocl_call *c, size_t rows, size_t k, cl_mem wt, cl_mem xt,
                       ocl_buffer *dst, const char *what)
{
    ocl_attention *att = c->att;
    const size_t E = (size_t)att->E;
    size_t temp = 0;
    mha_status st = ocl_reserve(c, dst, rows * E * sizeof(float), "projections");
    if (st == MHA_STATUS_OK)
        st = ocl_gemm_temp_size(c, E, rows, k, &temp);
    if (st == MHA_STATUS_OK)
        st = ocl_reserve(c, &att->gemm_temp, temp > 64 ? temp : 64, "gemm temp");
    if (st != MHA_STATUS_OK)
        return st;
    CLBlastStatusCode s = (CLBlastStatusCode)ocl_fault(c->ctx, what);
    if (s == CLBlastSuccess)
        s = CLBlastSgemmWithTempBuffer(CLBlastLayoutColMajor, CLBlastTransposeNo,
                                       CLBlastTransposeYes, E, rows, k, 1.0f, wt, 0, E, xt, 0,
                                       rows, 0.0f, dst->mem, 0, E, &c->queue, NULL,
                                       att->gemm_temp.mem);
    return s == CLBlastSuccess ? MHA_STATUS_OK : ocl_clblast_fail(s, what);
}

/* The per-head products are laid out so that CLBlast needs no temporary
 * copy: A not transposed, B transposed, C packed (ld = m, stride = m*n),
 * sizes multiples of its tiles. */
mha_status ocl_gemm_batched(ocl_call *c, CLBlastTranspose ta, CLBlastTranspose tb, size_t m,
                            size_t n, size_t k, float alpha, cl_mem a, size_t a_ld,
                            size_t a_stride, cl_mem b, size_t b_ld, size_t b_stride, cl_mem cm,
                            size_t c_ld, size_t c_stride, size_t batch, const char *what)
{
    CLBlastStatusCode s = (CLBlastStatusCode)ocl_fault(c->ctx, what);
    if (s == CLBlastSuccess)
        s = CLBlastSgemmStridedBatched(CLBlastLayoutColMajor, ta, tb, m, n, k, alpha, a, 0, a_ld,
                                       a_stride, b, 0, b_ld, b_stride, 0.0f, cm, 0, c_ld,
                                       c_stride, batch, &c->queue, NULL);
    if (s != CLBlastSuccess)
        return ocl_clblast_fail(s, what);
    return MHA_STATUS_OK;
}

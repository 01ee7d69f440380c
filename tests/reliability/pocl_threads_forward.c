/*
 * pocl_threads_forward.c - runs one medium forward on the OpenCL plugin (masks,
 * causal, per-head weights, dropout) and writes the output and the weights as
 * raw float32 to FILE. test_pocl_threads.sh runs it under different PoCL
 * thread counts and compares the files byte for byte: the result must not
 * depend on how many threads the device uses.
 * Usage: pocl_threads_forward FILE
 */
#include <stdio.h>
#include <stdlib.h>

#include "mha/mha.h"

enum { N = 2, L = 67, S = 61, E = 48, H = 4 };

static float uniform(unsigned *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / 16777216.0f - 0.5f;
}

static int fail(const char *what, mha_status status)
{
    fprintf(stderr, "%s: %s: %s\n", what, mha_status_name(status), mha_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 2;
    }
    static float in_w[3 * E * E], in_b[3 * E], out_w[E * E], out_b[E];
    static float q[L * N * E], kv[S * N * E], mask[L * S], out[L * N * E], weights[N * H * L * S];
    static unsigned char padding[N * S];
    unsigned state = 12345u;
    float *arrays[] = {in_w, in_b, out_w, out_b, q, kv, mask};
    size_t sizes[] = {3 * E * E, 3 * E, E * E, E, L * N * E, S * N * E, L * S};
    for (size_t a = 0; a < sizeof sizes / sizeof *sizes; ++a)
        for (size_t i = 0; i < sizes[a]; ++i)
            arrays[a][i] = uniform(&state);
    for (size_t i = 0; i < N * S; ++i)
        padding[i] = (i % 7) == 3;

    mha_backend *backend = NULL;
    mha_attention *attention = NULL;
    mha_status status = mha_backend_open("opencl", &backend);
    if (status != MHA_STATUS_OK)
        return fail("mha_backend_open(opencl)", status);
    mha_config config;
    mha_config_init(&config, E, H);
    config.dropout = 0.2f;
    mha_weights w;
    mha_weights_init(&w);
    w.in_proj_weight = in_w;
    w.in_proj_bias = in_b;
    w.out_proj_weight = out_w;
    w.out_proj_bias = out_b;
    if ((status = mha_attention_create(backend, &config, &w, &attention)) != MHA_STATUS_OK)
        return fail("mha_attention_create", status);
    mha_forward_args args;
    mha_forward_args_init(&args);
    args.query = mha_tensor_f32(q, 3, (int64_t[]){L, N, E});
    args.key = args.value = mha_tensor_f32(kv, 3, (int64_t[]){S, N, E});
    args.attn_mask = mha_tensor_f32(mask, 2, (int64_t[]){L, S});
    args.key_padding_mask = mha_tensor_bool(padding, 2, (int64_t[]){N, S});
    args.causal = MHA_CAUSAL_BOTTOM_RIGHT;
    args.need_weights = true;
    args.average_attn_weights = false;
    args.training = true;
    args.dropout_seed = 99;
    args.attn_output = mha_tensor_f32(out, 3, (int64_t[]){L, N, E});
    args.attn_weights = mha_tensor_f32(weights, 4, (int64_t[]){N, H, L, S});
    if ((status = mha_attention_forward(attention, &args)) != MHA_STATUS_OK)
        return fail("mha_attention_forward", status);
    mha_attention_destroy(attention);
    mha_backend_close(backend);

    FILE *file = fopen(argv[1], "wb");
    if (!file || fwrite(out, sizeof out, 1, file) != 1 ||
        fwrite(weights, sizeof weights, 1, file) != 1 || fclose(file) != 0) {
        fprintf(stderr, "cannot write %s\n", argv[1]);
        return 1;
    }
    return 0;
}

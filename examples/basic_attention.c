/*
 * basic_attention.c - the smallest complete use of the mha C API:
 * self-attention over a batch of 2 sequences of 4 tokens, E = 8, 2 heads.
 * Usage: basic_attention [BACKEND_SPEC]   (default: best available plugin)
 */
#include <stdio.h>

#include <mha/mha.h>

#define E 8
#define H 2
#define N 2
#define L 4

static int check(mha_status status, const char *what)
{
    if (status != MHA_STATUS_OK)
        fprintf(stderr, "%s failed: %s: %s\n", what, mha_status_name(status), mha_last_error());
    return status == MHA_STATUS_OK;
}

int main(int argc, char **argv)
{
    static float in_proj_weight[3 * E * E], in_proj_bias[3 * E];
    static float out_proj_weight[E * E], out_proj_bias[E];
    static float x[L * N * E], out[L * N * E], attn[N * L * L];
    for (int i = 0; i < 3 * E * E; ++i)
        in_proj_weight[i] = (float)((i * 7) % 13 - 6) / 13.0f;
    for (int i = 0; i < E * E; ++i)
        out_proj_weight[i] = (i % (E + 1) == 0) ? 1.0f : 0.0f; /* identity */
    for (int i = 0; i < L * N * E; ++i)
        x[i] = (float)((i * 5) % 11 - 5) / 11.0f;

    mha_backend *backend = NULL;
    mha_attention *attention = NULL;
    int ok = check(mha_backend_open(argc > 1 ? argv[1] : NULL, &backend), "mha_backend_open");

    mha_config config;
    mha_config_init(&config, E, H); /* PyTorch defaults: bias on, (L, N, E) layout */
    mha_weights weights;
    mha_weights_init(&weights);
    weights.in_proj_weight = in_proj_weight;
    weights.in_proj_bias = in_proj_bias;
    weights.out_proj_weight = out_proj_weight;
    weights.out_proj_bias = out_proj_bias;
    ok = ok && check(mha_attention_create(backend, &config, &weights, &attention),
                     "mha_attention_create");

    mha_forward_args args;
    mha_forward_args_init(&args);
    const int64_t shape[3] = {L, N, E};
    args.query = args.key = args.value = mha_tensor_f32(x, 3, shape);
    args.attn_output = mha_tensor_f32(out, 3, shape);
    args.causal = MHA_CAUSAL_TOP_LEFT;
    args.need_weights = true;
    args.attn_weights = mha_tensor_f32(attn, 3, (const int64_t[]){N, L, L});
    ok = ok && check(mha_attention_forward(attention, &args), "mha_attention_forward");

    if (ok) {
        mha_device_info device = {.struct_size = sizeof device};
        mha_backend_device_info(backend, &device);
        printf("ran on %s (%s): out[0] = %.6f, first query attends only to itself: %.3f\n",
               mha_backend_plugin_name(backend), device.name, out[0], attn[0]);
    }
    mha_attention_destroy(attention);
    mha_backend_close(backend);
    return ok ? 0 : 1;
}

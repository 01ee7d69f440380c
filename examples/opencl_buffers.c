/*
 * opencl_buffers.c - mha on the caller's own OpenCL context, with inputs in
 * cl_mem buffers: the interop path of include/mha/opencl.h. The same
 * self-attention runs once on host memory with the reference plugin and once
 * on device buffers with the opencl plugin; the two outputs must agree.
 * Build: link mha::opencl (CMake) or `pkg-config mha-opencl` (OpenCL + mha).
 * Exit status: 0 agree, 1 they differ or a call failed, 77 no OpenCL device.
 */
#include <math.h>
#include <stdio.h>

#include <mha/mha.h>
#include <mha/opencl.h>

#define E 16
#define H 4
#define N 2
#define L 5

static int check(mha_status status, const char *what)
{
    if (status != MHA_STATUS_OK)
        fprintf(stderr, "%s failed: %s: %s\n", what, mha_status_name(status), mha_last_error());
    return status == MHA_STATUS_OK;
}

static float in_proj_weight[3 * E * E], in_proj_bias[3 * E], out_proj_weight[E * E],
    out_proj_bias[E], x[L * N * E], expected[L * N * E], got[L * N * E];

/* One forward of self-attention over x into out on `backend`; x is either
 * the host array or a cl_mem (memory says which). */
static int forward(mha_backend *backend, void *input, mha_memory memory, float *out)
{
    mha_config config;
    mha_config_init(&config, E, H);
    mha_weights weights;
    mha_weights_init(&weights);
    weights.in_proj_weight = in_proj_weight;
    weights.in_proj_bias = in_proj_bias;
    weights.out_proj_weight = out_proj_weight;
    weights.out_proj_bias = out_proj_bias;
    mha_attention *attention = NULL;
    int ok = check(mha_attention_create(backend, &config, &weights, &attention), "create");
    mha_forward_args args;
    mha_forward_args_init(&args);
    args.query = mha_tensor_f32(input, 3, (int64_t[]){L, N, E});
    args.query.memory = memory;
    args.key = args.value = args.query;
    args.causal = MHA_CAUSAL_TOP_LEFT;
    args.attn_output = mha_tensor_f32(out, 3, (int64_t[]){L, N, E}); /* host output */
    ok = ok && check(mha_attention_forward(attention, &args), "forward");
    mha_attention_destroy(attention);
    return ok;
}

int main(void)
{
    for (int i = 0; i < 3 * E * E; ++i)
        in_proj_weight[i] = (float)((i * 7) % 13 - 6) / 26.0f;
    for (int i = 0; i < E * E; ++i)
        out_proj_weight[i] = (float)((i * 3) % 7 - 3) / 14.0f;
    for (int i = 0; i < L * N * E; ++i)
        x[i] = (float)((i * 5) % 11 - 5) / 11.0f;

    cl_platform_id platform;
    cl_device_id device;
    cl_uint count = 0;
    if (clGetPlatformIDs(1, &platform, &count) != CL_SUCCESS || count == 0 ||
        clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL) != CL_SUCCESS) {
        fprintf(stderr, "no OpenCL device\n");
        return 77;
    }
    cl_int err;
    cl_context context = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "clCreateContext: %d\n", (int)err);
        return 1;
    }
    cl_mem buffer = clCreateBuffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof x, x,
                                   &err);

    mha_backend *reference = NULL, *opencl = NULL;
    mha_opencl_context_options options = {
        .header = {sizeof options, MHA_OPENCL_EXT_CONTEXT, NULL},
        .context = context,
        .device = device,
        .queue = NULL,
    };
    int ok = err == CL_SUCCESS &&
             check(mha_backend_open("reference", &reference), "open reference") &&
             check(mha_backend_open_with("opencl", &options.header, &opencl), "open opencl") &&
             forward(reference, x, MHA_MEMORY_HOST, expected) &&
             forward(opencl, buffer, MHA_MEMORY_OPENCL_BUFFER, got);
    double worst = 0.0;
    for (int i = 0; ok && i < L * N * E; ++i)
        worst = fmax(worst, fabs((double)got[i] - (double)expected[i]));
    if (ok)
        printf("opencl on the caller's context and buffers: max |difference| %.3g\n", worst);
    mha_backend_close(opencl);
    mha_backend_close(reference);
    if (buffer)
        clReleaseMemObject(buffer);
    clReleaseContext(context);
    return ok && worst <= 1e-4 ? 0 : 1;
}

/* context.c - a context binds the plugin to one device: cl_context + program. */
#include <stddef.h>
#include <string.h>

#include "internal.h"


mha_status ocl_context_create(const char *device_spec, void **context)
{
    mha_status status = MHA_STATUS_OK;
    const ocl_device *dev = NULL;
    ocl_context *ctx = NULL;
    cl_int err = CL_SUCCESS;

    *context = NULL;
    status = ocl_devices_find(device_spec, &dev);
    if (status != MHA_STATUS_OK)
        goto done;
    ctx = ocl_host->calloc(1, sizeof *ctx);
    if (!ctx) {
        status = ocl_out_of_host_memory("context");
        goto done;
    }
    ctx->device = dev;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)dev->platform, 0};
    ctx->cl = clCreateContext(props, 1, &dev->device, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        status = ocl_cl_fail(err, "clCreateContext");
        goto done;
    }
    status = ocl_program_build(ctx->cl, dev, &ctx->program);
    if (status != MHA_STATUS_OK)
        goto done;
    ocl_host->trace("opencl: context on %s (%s)", dev->info.spec, dev->info.name);
    *context = ctx;
    ctx = NULL;
done:
    ocl_context_destroy(ctx);
    return status;
}

void ocl_context_destroy(void *context)
{
    ocl_context *ctx = context;
    if (!ctx)
        return;
    if (ctx->program)
        clReleaseProgram(ctx->program);
    if (ctx->cl)
        clReleaseContext(ctx->cl);
    ocl_host->free(ctx);
}


mha_status ocl_context_capabilities(void *context, mha_capabilities *caps)
{
    (void)context;
    size_t size = caps->struct_size;
    if (size == 0 || size > sizeof *caps)
        size = sizeof *caps;
    mha_capabilities c;
    memset(&c, 0, sizeof c);
    c.struct_size = size;
    c.next = caps->next;
    c.dtypes = 1u << MHA_DTYPE_F32;
    c.memory_kinds = 1u << MHA_MEMORY_HOST;
    c.mask_kinds = MHA_MASK_ALL;
    c.dropout = true;
    c.need_weights = true;
    c.add_bias_kv = true;
    c.add_zero_attn = true;
    c.separate_kv_dims = true;
    c.max_embed_dim = 0;
    c.max_sequence = 0;
    c.extension_types = NULL;
    c.extension_type_count = 0;
    memcpy(caps, &c, size);
    return MHA_STATUS_OK;
}

mha_status ocl_context_device_info(void *context, mha_device_info *info)
{
    ocl_context *ctx = context;
    ocl_device_info_copy(info, &ctx->device->info);
    return MHA_STATUS_OK;
}

/* context.c - a context binds the plugin to one device: a cl_context, either
 * its own or the caller's (MHA_OPENCL_EXT_CONTEXT), and its programs, built
 * when first needed. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "internal.h"

static const uint32_t g_extension_types[] = {MHA_OPENCL_EXT_FORWARD};

mha_status ocl_context_program(ocl_context *ctx, ocl_program_id id, cl_program *out)
{
    mha_status status = MHA_STATUS_OK;
    pthread_mutex_lock(&ctx->program_lock);
    if (!ctx->programs[id]) {
        const ocl_build_target target = {ctx->cl, ctx->device, &ctx->settings, ctx->faults};
        status = ocl_program_build(&target, id, &ctx->programs[id]);
    }
    *out = ctx->programs[id];
    pthread_mutex_unlock(&ctx->program_lock);
    return status;
}

void ocl_event_created(ocl_context *ctx)
{
    if (ctx->faults)
        ctx->faults->live_events++;
}

void ocl_event_release(ocl_context *ctx, cl_event event)
{
    if (!event)
        return;
    clReleaseEvent(event);
    if (ctx->faults)
        ctx->faults->live_events--;
}

mha_status ocl_check_queue(const ocl_context *ctx, cl_command_queue queue, const char *what,
                           bool *profiling)
{
    cl_context owner = NULL;
    cl_device_id device = NULL;
    cl_command_queue_properties props = 0;
    cl_int err = clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof owner, &owner, NULL);
    if (err == CL_SUCCESS)
        err = clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof device, &device, NULL);
    if (err == CL_SUCCESS)
        err = clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL);
    if (err != CL_SUCCESS)
        return ocl_host->set_error(MHA_STATUS_INVALID_VALUE,
                                   "opencl: %s is not a usable cl_command_queue: "
                                   "clGetCommandQueueInfo: %s (%d)",
                                   what, ocl_cl_error_name(err), (int)err);
    if (owner != ctx->cl || device != ctx->device->device)
        return ocl_host->set_error(MHA_STATUS_INVALID_VALUE,
                                   "opencl: %s belongs to another %s than the backend's", what,
                                   owner != ctx->cl ? "cl_context" : "device");
    if (props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
        return ocl_host->set_error(MHA_STATUS_UNSUPPORTED,
                                   "opencl: %s is an out-of-order queue; the plugin needs an "
                                   "in-order one",
                                   what);
    *profiling = (props & CL_QUEUE_PROFILING_ENABLE) != 0;
    return MHA_STATUS_OK;
}

/* The caller's context and device: checks them and fills ctx (cl, device,
 * queue), retaining what it keeps. */
static mha_status adopt(ocl_context *ctx, const mha_opencl_context_options *o)
{
    cl_device_id device = o->device, devices[64];
    size_t bytes = 0;
    cl_int err = CL_SUCCESS;
    if (!o->context)
        return ocl_host->set_error(MHA_STATUS_NULL_ARGUMENT,
                                   "opencl: mha_opencl_context_options.context is NULL");
    if (!device && o->queue)
        err = clGetCommandQueueInfo(o->queue, CL_QUEUE_DEVICE, sizeof device, &device, NULL);
    if (err == CL_SUCCESS)
        err = clGetContextInfo(o->context, CL_CONTEXT_DEVICES, sizeof devices, devices, &bytes);
    if (err != CL_SUCCESS)
        return ocl_host->set_error(MHA_STATUS_INVALID_VALUE,
                                   "opencl: mha_opencl_context_options: the %s is not usable: "
                                   "%s (%d)",
                                   o->queue && !o->device ? "queue or context" : "context",
                                   ocl_cl_error_name(err), (int)err);
    size_t count = bytes / sizeof(cl_device_id);
    bool member = false;
    for (size_t i = 0; i < count; ++i)
        member |= devices[i] == device;
    if (!device && count > 0) {
        device = devices[0];
        member = true;
    }
    if (!member)
        return ocl_host->set_error(MHA_STATUS_INVALID_VALUE,
                                   "opencl: mha_opencl_context_options.device is not a device of "
                                   "its context");
    /* The enumerated record if init() listed the device, else our own. */
    for (size_t i = 0; i < ocl_devices_count(); ++i)
        if (ocl_devices_at(i)->device == device)
            ctx->device = ocl_devices_at(i);
    if (!ctx->device) {
        ocl_device *d = &ctx->own_device;
        d->device = device;
        if (clGetDeviceInfo(device, CL_DEVICE_PLATFORM, sizeof d->platform, &d->platform, NULL) !=
            CL_SUCCESS)
            d->platform = NULL;
        ocl_device_describe(d);
        strcpy(d->info.spec, "caller");
        ctx->device = d;
    }
    clRetainContext(o->context);
    ctx->cl = o->context;
    if (o->queue) {
        mha_status st = ocl_check_queue(ctx, o->queue, "mha_opencl_context_options.queue",
                                        &ctx->queue_profiling);
        if (st != MHA_STATUS_OK)
            return st;
        clRetainCommandQueue(o->queue);
        ctx->queue = o->queue;
    }
    return MHA_STATUS_OK;
}

mha_status ocl_context_create_with(const char *device_spec, const mha_extension *options,
                                   void **context)
{
    mha_status status = MHA_STATUS_OK;
    const mha_opencl_context_options *user = NULL;
    const mha_opencl_fault_options *faults = NULL;
    ocl_context *ctx = NULL;
    cl_int err = CL_SUCCESS;

    *context = NULL;
    for (const mha_extension *e = options; e; e = e->next) {
        if (e->type == MHA_OPENCL_EXT_CONTEXT) {
            if (e->struct_size < sizeof *user)
                return ocl_host->set_error(MHA_STATUS_INVALID_STRUCT_SIZE,
                                           "opencl: mha_opencl_context_options.header.struct_size "
                                           "is %zu but must be at least %zu",
                                           e->struct_size, sizeof *user);
            user = (const mha_opencl_context_options *)e;
        } else if (e->type == MHA_OPENCL_EXT_FAULTS) {
            if (e->struct_size < sizeof *faults)
                return ocl_host->set_error(MHA_STATUS_INVALID_STRUCT_SIZE,
                                           "opencl: mha_opencl_fault_options.header.struct_size "
                                           "is %zu but must be at least %zu",
                                           e->struct_size, sizeof *faults);
            faults = (const mha_opencl_fault_options *)e;
        } else {
            return ocl_host->set_error(MHA_STATUS_UNSUPPORTED,
                                       "opencl: option extension type 0x%x is not one of the "
                                       "opencl plugin's",
                                       (unsigned)e->type);
        }
    }
    if (user && device_spec && device_spec[0] != '\0')
        return ocl_host->set_error(MHA_STATUS_INVALID_VALUE,
                                   "opencl: device \"%s\" in the spec, but the device comes from "
                                   "mha_opencl_context_options",
                                   device_spec);
    ctx = ocl_host->calloc(1, sizeof *ctx);
    if (!ctx) {
        status = ocl_out_of_host_memory("context");
        goto done;
    }
    if (pthread_mutex_init(&ctx->program_lock, NULL) != 0) {
        ocl_host->free(ctx);
        ctx = NULL;
        status = ocl_host->set_error(MHA_STATUS_INTERNAL, "opencl: pthread_mutex_init failed");
        goto done;
    }
    ctx->program_lock_ready = true;
    atomic_init(&ctx->device_bytes, 0);
    ctx->faults = faults ? faults->faults : NULL;
    if ((status = ocl_settings_read(&ctx->settings)) != MHA_STATUS_OK)
        goto done;
    ocl_cache_dir_warn(&ctx->settings);
    ctx->gemm_only = ctx->settings.gemm_only;
    if (user) {
        if ((status = adopt(ctx, user)) != MHA_STATUS_OK ||
            (status = ocl_device_check_version(ctx->device)) != MHA_STATUS_OK)
            goto done;
    } else {
        const ocl_device *dev = NULL;
        status = ocl_devices_find(device_spec, ctx->settings.device, &dev);
        if (status == MHA_STATUS_OK)
            status = ocl_device_check_version(dev); /* an explicit spec may name a 1.1 device */
        if (status != MHA_STATUS_OK)
            goto done;
        ctx->device = dev;
        cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)dev->platform,
                                         0};
        err = ocl_fault(ctx, "clCreateContext");
        if (err == CL_SUCCESS)
            ctx->cl = clCreateContext(props, 1, &dev->device, NULL, NULL, &err);
        if (err != CL_SUCCESS) {
            ctx->cl = NULL;
            status = ocl_cl_fail(err, "clCreateContext");
            goto done;
        }
    }
    ctx->limits = ctx->device->limits;
    ocl_device_limits_cap(&ctx->limits, &ctx->settings.limit_caps);
    /* The common kernels now (every call runs some, and a build that fails,
     * e.g. on bad MHA_OPENCL_BUILD_OPTIONS, fails the open); the paths'
     * programs at their first call. */
    {
        cl_program common = NULL;
        status = ocl_context_program(ctx, OCL_PROGRAM_COMMON, &common);
    }
    if (status != MHA_STATUS_OK)
        goto done;
    status = ocl_tuning_apply(ctx->device, &ctx->settings, &ctx->flash_tuning);
    if (status != MHA_STATUS_OK)
        goto done;
    /* Benchmarking aid (docs/opencl.md): forwards enqueue only their CLBlast
     * GEMMs; their results are garbage. */
    if (ctx->gemm_only)
        ocl_host->trace("opencl: MHA_OPENCL_GEMM_ONLY=1: forwards run their GEMMs only");
    ocl_host->trace("opencl: context on %s (%s)%s", ctx->device->info.spec,
                    ctx->device->info.name, user ? ", the caller's" : "");
    *context = ctx;
    ctx = NULL;
done:
    ocl_context_destroy(ctx);
    return status;
}

mha_status ocl_context_create(const char *device_spec, void **context)
{
    return ocl_context_create_with(device_spec, NULL, context);
}

void ocl_context_destroy(void *context)
{
    ocl_context *ctx = context;
    if (!ctx)
        return;
    for (int i = 0; i < OCL_PROGRAM_COUNT; ++i)
        if (ctx->programs[i])
            clReleaseProgram(ctx->programs[i]);
    if (ctx->program_lock_ready)
        pthread_mutex_destroy(&ctx->program_lock);
    if (ctx->queue)
        clReleaseCommandQueue(ctx->queue);
    if (ctx->cl)
        clReleaseContext(ctx->cl);
    ocl_settings_free(&ctx->settings);
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
    /* cl_mem tensors must belong to the backend's context: in practice, a
     * backend opened on the caller's (forward() says so otherwise). */
    c.memory_kinds = 1u << MHA_MEMORY_HOST | 1u << MHA_MEMORY_OPENCL_BUFFER;
    c.mask_kinds = MHA_MASK_ALL;
    c.dropout = true;
    c.need_weights = true;
    c.add_bias_kv = true;
    c.add_zero_attn = true;
    c.separate_kv_dims = true;
    c.max_embed_dim = 0;
    c.max_sequence = 0;
    c.extension_types = g_extension_types;
    c.extension_type_count = sizeof g_extension_types / sizeof g_extension_types[0];
    c.core_features = OCL_CORE_FEATURES;
    c.core_dtypes = OCL_CORE_DTYPES;
    memcpy(caps, &c, size);
    return MHA_STATUS_OK;
}

mha_status ocl_context_device_info(void *context, mha_device_info *info)
{
    ocl_context *ctx = context;
    ocl_device_info_copy(info, &ctx->device->info);
    return MHA_STATUS_OK;
}

mha_status ocl_create_kernel(ocl_context *ctx, cl_program program, const char *name,
                             cl_kernel *out)
{
    cl_int err = ocl_fault(ctx, "clCreateKernel");
    *out = NULL;
    if (err == CL_SUCCESS)
        *out = clCreateKernel(program, name, &err);
    if (err != CL_SUCCESS) {
        *out = NULL;
        return ocl_host->set_error(ocl_cl_status(err), "opencl: clCreateKernel(%s): %s (%d)", name,
                                   ocl_cl_error_name(err), (int)err);
    }
    return MHA_STATUS_OK;
}

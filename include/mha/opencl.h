/*
 * opencl.h - extensions understood by the "opencl" plugin.
 *
 * Extensions are chained through `next` of mha_forward_args (see mha.h,
 * "Extension chains"). The plugin lists the types below in
 * mha_capabilities.extension_types.
 */
#ifndef MHA_OPENCL_H
#define MHA_OPENCL_H

#include <stdint.h>

#include "mha/mha.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Extension type values of the opencl plugin ('O' 'C' in the high bits). */
#define MHA_OPENCL_EXT_FORWARD_STATS 0x4f430001u

/* Chain into mha_forward_args.next to learn what the call cost in device
 * memory. The struct is caller-owned and only needs to live for the call; the
 * plugin writes the `out` fields before returning (also on failure). */
typedef struct mha_opencl_forward_stats {
    mha_extension header;        /* struct_size = sizeof, type = MHA_OPENCL_EXT_FORWARD_STATS */
    uint64_t device_allocations; /* out: device buffers created by this attention
                                  * object since its creation (weights included) */
    uint64_t call_allocations;   /* out: device buffers created during this call;
                                  * 0 in steady state (same or smaller shapes) */
    uint64_t device_bytes;       /* out: device bytes held by the attention object */
} mha_opencl_forward_stats;

#ifdef __cplusplus
}
#endif
#endif /* MHA_OPENCL_H */

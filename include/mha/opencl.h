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

#ifdef __cplusplus
}
#endif
#endif /* MHA_OPENCL_H */

/* core_validate.h - the checks of an attention-core call (core_validate.c). */
#ifndef MHA_HOST_CORE_VALIDATE_H
#define MHA_HOST_CORE_VALIDATE_H

#include "internal.h"

/* Checks `args` (a full-size host copy) against the backend's capabilities
 * and fills *problem: sizes, resolved options and rank-4 strided views. */
mha_status core_validate(const mha_core_args *args, const mha_capabilities *caps,
                         mha_core_problem *problem);

#endif

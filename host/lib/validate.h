/* validate.h - every check of configuration, weights and forward arguments,
 * done once in the host so that plugins only ever see valid calls. Each
 * failing check sets a message naming the argument, expected and actual. */
#ifndef MHA_HOST_VALIDATE_H
#define MHA_HOST_VALIDATE_H

#include "internal.h"

/* Checks an extension chain: at most 64 long, every type one the backend
 * lists; the error names `what` ("args", "config"). */
mha_status check_extensions(const char *what, const mha_extension *next,
                            const mha_capabilities *caps);
/* Checks config against the backend's capabilities; writes a full-size copy
 * (docs/abi.md) with kdim and vdim resolved into *resolved. */
mha_status validate_config(const mha_config *config, const mha_capabilities *caps,
                           mha_config *resolved);
/* Copies the caller's weights into the full-size *weights and checks which
 * arrays are present for the (resolved) config. */
mha_status validate_weights(const mha_weights *caller, const mha_config *config,
                            mha_weights *weights);
/* Copies the caller's args into the full-size *args, checks the inputs of a
 * forward call and derives the problem; outputs are not looked at. */
mha_status validate_forward_inputs(const mha_attention *attention, const mha_forward_args *caller,
                                   mha_forward_args *args, mha_problem *problem);
/* Expected shapes of the outputs for a validated problem. */
void expected_output_shapes(const mha_problem *problem, const mha_forward_args *args,
                            mha_tensor *attn_output, mha_tensor *attn_weights);
/* Checks the output tensors of the (full-size) args against the expected ones. */
mha_status validate_forward_outputs(const mha_attention *attention, const mha_forward_args *args,
                                    const mha_problem *problem);

#endif

/* abi.c - the published struct sizes, pinned. A change that trips one of
 * these moves a field of a published struct: that is an ABI break (a new
 * major), never a minor. Only the sizes of the first published version are
 * pinned; appending fields grows sizeof but not the *_SIZE_V1 values
 * (docs/abi.md). The numbers are those of the LP64 ABI (x86_64, aarch64). */
#include "mha/plugin.h"

#define PIN(expression, bytes) _Static_assert((expression) == (bytes), #expression " changed")

#if defined(__LP64__)
PIN(MHA_CONFIG_SIZE_V1, 56);
PIN(MHA_WEIGHTS_SIZE_V1, 88);
PIN(MHA_FORWARD_ARGS_SIZE_V1, 480);
PIN(MHA_PLUGIN_INFO_SIZE_V1, 48);
PIN(MHA_DEVICE_INFO_SIZE_V1, 356);
PIN(MHA_CAPABILITIES_SIZE_V1, 72);
PIN(MHA_STATS_SIZE_V1, 240);
PIN(MHA_ALLOCATOR_SIZE_V1, 48);
PIN(MHA_EXTENSION_SIZE_V1, 24);
PIN(sizeof(mha_tensor), 64); /* embedded in mha_forward_args: frozen */
/* ABI 1.1 */
PIN(MHA_VIEW_SIZE_V1, 176);
PIN(sizeof(mha_view), 176); /* embedded in args structs: frozen */
PIN(MHA_CORE_ARGS_SIZE_V1, 2376);
PIN(offsetof(mha_plugin_i, core_forward) + sizeof(void *), 152);
PIN(offsetof(mha_capabilities, core_dtypes) + sizeof(uint32_t), 80);
/* The plugin side: what a 1.0 plugin or host was built with. */
PIN(offsetof(mha_host_services, next) + sizeof(void *), 72);
PIN(offsetof(mha_plugin_i, context_create_with) + sizeof(void *), 144);
PIN(offsetof(mha_problem, scale) + sizeof(float), 96);
#endif

/* Sizes that only grow: a struct is never smaller than its first version. */
_Static_assert(sizeof(mha_config) >= MHA_CONFIG_SIZE_V1, "mha_config shrank");
_Static_assert(sizeof(mha_weights) >= MHA_WEIGHTS_SIZE_V1, "mha_weights shrank");
_Static_assert(sizeof(mha_forward_args) >= MHA_FORWARD_ARGS_SIZE_V1, "mha_forward_args shrank");
_Static_assert(sizeof(mha_capabilities) >= MHA_CAPABILITIES_SIZE_V1, "mha_capabilities shrank");
_Static_assert(sizeof(mha_view) >= MHA_VIEW_SIZE_V1, "mha_view shrank");
_Static_assert(MHA_VIEW_MAX_RANK >= MHA_MAX_RANK, "a view holds every mha_tensor");

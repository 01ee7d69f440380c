/* stub_layout.h - where the stub fixture plugin writes the mha_problem it
 * received into attn_output, so host tests can read what the host derived. */
#ifndef MHA_TEST_STUB_LAYOUT_H
#define MHA_TEST_STUB_LAYOUT_H

#include "mha/mha.h"

enum {
    STUB_BATCH,
    STUB_TGT_LEN,
    STUB_SRC_LEN,
    STUB_SRC_LEN_TOTAL,
    STUB_HEAD_DIM,
    STUB_KDIM,
    STUB_VDIM,
    STUB_FLAGS, /* batched | batch_first<<1 | self<<2 | kv_same<<3 | mask3d<<4 | dropout<<5 */
    STUB_SCALE,
    /* What the plugin received (ABI 1.1: the host's full-size copies). */
    STUB_ARGS_SIZE,      /* args->struct_size */
    STUB_ARGS_IS_CALLER, /* 1 when args is the caller's own struct (never) */
    STUB_CONFIG_SIZE,    /* the config->struct_size attention_create saw */
    STUB_WEIGHTS_SIZE,   /* the weights->struct_size attention_create saw */
    STUB_FIELD_COUNT
};

/* args->next of this type carries the caller's args pointer, so the stub can
 * tell whether it was handed the caller's struct or a copy. */
#define STUB_CALLER_ARGS_TYPE 0x57ACu
typedef struct stub_caller_args {
    mha_extension header; /* type STUB_CALLER_ARGS_TYPE */
    const void *caller;
} stub_caller_args;

/* An extension type only the stub accepts. */
#define STUB_EXTENSION_TYPE 0x57ABu

#endif

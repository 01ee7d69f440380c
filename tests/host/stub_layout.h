/* stub_layout.h - where the stub fixture plugin writes the mha_problem it
 * received into attn_output, so host tests can read what the host derived. */
#ifndef MHA_TEST_STUB_LAYOUT_H
#define MHA_TEST_STUB_LAYOUT_H

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
    STUB_FIELD_COUNT
};

/* An extension type only the stub accepts. */
#define STUB_EXTENSION_TYPE 0x57ABu

#endif

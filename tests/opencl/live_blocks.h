/*
 * live_blocks.h - a host allocator for the OpenCL tests that counts the
 * blocks libmha and its plugins hold (mha_set_allocator), so a test can
 * check that a failed or refused call leaves as many as it found.
 */
#ifndef MHA_TEST_LIVE_BLOCKS_H
#define MHA_TEST_LIVE_BLOCKS_H

/* Installs the counting allocator, before any other mha call. 0 on
 * success; otherwise prints why to stderr and returns -1. */
int live_blocks_install(void);
/* The blocks alive now. */
long live_blocks(void);

#endif /* MHA_TEST_LIVE_BLOCKS_H */

/* fuzz.h - the libFuzzer entry point every harness here defines. The same
 * harness is built twice: with -fsanitize=fuzzer (MHA_BUILD_FUZZERS, clang)
 * and with replay_main.c, which feeds it the committed corpus in every build. */
#ifndef MHA_FUZZ_H
#define MHA_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif

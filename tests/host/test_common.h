/* test_common.h - includes and helpers shared by the host tests. */
#ifndef MHA_TEST_COMMON_H
#define MHA_TEST_COMMON_H

/* cmocka 1.1.5 needs these before <cmocka.h>. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "mha/mha.h"

/* Fails unless the last error message contains `needle`. */
#define assert_error_contains(needle)                                                 \
    do {                                                                              \
        if (!strstr(mha_last_error(), (needle)))                                      \
            fail_msg("message \"%s\" lacks \"%s\"", mha_last_error(), (needle));      \
    } while (0)

/* Fails unless `call` returns `expected` (printing the message if not). */
#define assert_status(call, expected)                                                 \
    do {                                                                              \
        mha_status status_ = (call);                                                  \
        if (status_ != (expected))                                                    \
            fail_msg("%s returned %s (%s), expected %s", #call, mha_status_name(status_), \
                     mha_last_error(), mha_status_name(expected));                    \
    } while (0)

#endif

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

/* The registry's reason for skipping the candidate whose path ends with
 * `suffix`, or NULL. */
static inline const char *registry_failure_for(const char *suffix)
{
    size_t count = 0;
    assert_status(mha_plugin_failure_count(&count), MHA_STATUS_OK);
    for (size_t i = 0; i < count; ++i) {
        const char *path, *reason;
        assert_status(mha_plugin_failure(i, &path, &reason), MHA_STATUS_OK);
        size_t length = strlen(path), suffix_length = strlen(suffix);
        if (length >= suffix_length && strcmp(path + length - suffix_length, suffix) == 0)
            return reason;
    }
    return NULL;
}

#endif

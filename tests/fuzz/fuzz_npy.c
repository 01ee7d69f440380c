/*
 * fuzz_npy.c - fuzzes npy_parse (host/common/npy.c), the .npy reader behind
 * the mha command line, on arbitrary bytes.
 *
 * Checked on every input, besides the sanitizers: a failure leaves *out zeroed
 * and a one-line message; a success describes exactly the bytes after the
 * header (count = product of the shape, data present) in a supported dtype
 * and rank.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    npy_array array;
    char err[256];
    err[0] = '\0';
    mha_status status = npy_parse(data, size, "fuzz.npy", &array, err, sizeof err);
    if (status != MHA_STATUS_OK) {
        static const npy_array zero;
        if (memcmp(&array, &zero, sizeof array) != 0 || err[0] == '\0' ||
            strchr(err, '\n') != NULL || strlen(err) >= sizeof err)
            abort();
        return 0;
    }
    size_t element = mha_dtype_size(array.dtype);
    if (element == 0 || array.dtype == MHA_DTYPE_BF16)
        abort();
    if (array.rank < 0 || array.rank > MHA_MAX_RANK || array.data == NULL)
        abort();
    size_t count = 1;
    for (int32_t i = 0; i < array.rank; ++i) {
        if (array.shape[i] < 0)
            abort();
        count *= (size_t)array.shape[i];
    }
    if (count != array.count || count * element > size)
        abort();
    /* The data are the file's last bytes, copied (as they are on a
     * little-endian host); comparing them also reads every byte, so a short
     * allocation is caught. */
    const uint16_t one = 1;
    unsigned char little;
    memcpy(&little, &one, 1);
    if ((array.dtype == MHA_DTYPE_BOOL || little) &&
        memcmp(array.data, data + size - count * element, count * element) != 0)
        abort();
    npy_array_free(&array);
    return 0;
}

/*
 * npy.h - strict reader and writer of NumPy .npy files (format 1.0, 2.0, 3.0),
 * used by the mha command line and the tests. Not part of libmha.
 *
 * Accepted dtypes: '<f4' (MHA_DTYPE_F32), '|b1' (MHA_DTYPE_BOOL), '<f2'
 * (MHA_DTYPE_F16), '<i4' (MHA_DTYPE_I32) and '<i8' (MHA_DTYPE_I64), C order,
 * rank 0..MHA_MAX_RANK. bfloat16 has no .npy code and is not accepted. The reader checks the header against the file size
 * and never trusts the sizes it declares.
 */
#ifndef MHA_NPY_H
#define MHA_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "mha/mha.h"

typedef struct npy_array {
    mha_dtype dtype;
    int32_t rank;
    int64_t shape[MHA_MAX_RANK];
    size_t count;  /* number of elements */
    void *data;    /* malloc'd; free with npy_array_free */
} npy_array;

/* Reads `path`. On failure returns MHA_STATUS_IO_ERROR (cannot open/read),
 * MHA_STATUS_FORMAT_ERROR (malformed), MHA_STATUS_INVALID_DTYPE,
 * MHA_STATUS_SIZE_OVERFLOW or MHA_STATUS_OUT_OF_MEMORY, with a one-line reason
 * naming the file in err (if err != NULL). *out is zeroed on failure. */
mha_status npy_read(const char *path, npy_array *out, char *err, size_t err_size);
/* Same from a memory buffer (used by the fuzzer); `name` is used in messages. */
mha_status npy_parse(const void *bytes, size_t size, const char *name, npy_array *out, char *err,
                     size_t err_size);
/* Writes an array of one of the accepted dtypes to `path` through
 * output_file.h: a regular (or new) target is replaced whole or not at all,
 * keeping its mode; a device, FIFO or link is written through. */
mha_status npy_write(const char *path, mha_dtype dtype, int32_t rank, const int64_t *shape,
                     const void *data, char *err, size_t err_size);
/* The same into an open output file (output_file_open), so a caller can
 * write several files and commit them only once every write succeeded. */
struct output_file;
mha_status npy_write_file(struct output_file *file, mha_dtype dtype, int32_t rank,
                          const int64_t *shape, const void *data, char *err, size_t err_size);
void npy_array_free(npy_array *array);

#endif

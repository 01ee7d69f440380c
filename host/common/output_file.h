/*
 * output_file.h - files the command line writes whole or not at all.
 *
 * A regular target (or a missing one) is written to a temporary file made
 * by mkstemp in the target's folder (never a fixed name another user could
 * plant a link at), which output_file_commit renames into place; until then
 * the target is untouched, and output_file_discard removes the temporary
 * file. A replaced file keeps its permission bits; a new one gets 0666 minus
 * the umask, as fopen would. A target that exists and is not a regular file
 * (a character device such as /dev/null, a FIFO, or a symbolic link such as
 * /dev/stdout) is written through directly, as a shell redirection would,
 * never replaced by a regular file; such a write is not all-or-nothing. A
 * directory is refused. Not part of libmha.
 */
#ifndef MHA_OUTPUT_FILE_H
#define MHA_OUTPUT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "mha/mha.h"

typedef struct output_file {
    char *target; /* as given, malloc'd */
    char *temp;   /* the temporary file, malloc'd; NULL when writing directly */
    FILE *stream; /* where to write, until commit or discard */
} output_file;

/* Opens `target` for writing as above. On failure *file is zeroed and err
 * holds one line naming the target. */
mha_status output_file_open(output_file *file, const char *target, char *err, size_t err_size);
/* Flushes and closes, then renames the temporary file onto the target. On
 * failure the temporary file is removed and the target is as it was. */
mha_status output_file_commit(output_file *file, char *err, size_t err_size);
/* Closes and removes the temporary file; the target is as it was. Accepts a
 * zeroed or already committed file. */
void output_file_discard(output_file *file);

/* True when the two paths name one file: the same folder (after resolving
 * links and "." / "..") and name, or the same device and inode. */
bool output_files_same(const char *a, const char *b);

#endif

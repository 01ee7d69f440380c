/* dl.h - the only place that knows how the OS loads shared libraries. */
#ifndef MHA_HOST_DL_H
#define MHA_HOST_DL_H

#include <stddef.h>

/* Opens a library with all symbols resolved now and kept local. On failure
 * returns NULL and copies the loader's reason into err. */
void *mha_dl_open(const char *path, char *err, size_t err_size);
/* Looks up a function symbol; NULL if missing (reason in err). */
void *mha_dl_symbol(void *library, const char *name, char *err, size_t err_size);
void mha_dl_close(void *library);
/* Directory of the shared object that contains `address`, into buf; 0 if unknown. */
int mha_dl_directory_of(const void *address, char *buf, size_t size);

#endif

/* fuzz_files.h - writing the files a fuzz target lays out in its directory. */
#ifndef MXC_FUZZ_FILES_H
#define MXC_FUZZ_FILES_H

#include <stdio.h>
#include <stdlib.h>

/* Writes len bytes as dir/name; aborts on failure (the fuzzer's own fault). */
static inline void fuzz_write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    fwrite(data, 1, len, f);
    fclose(f);
}

#endif

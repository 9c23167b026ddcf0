/* manifest.h - the files a checkpoint consists of, with their sizes and, on
 * request, their SHA-256: what a report certifies (SPEC §3 "manifest").
 *
 * A checkpoint directory's files are its regular files at the top level
 * (links followed, as in the Hugging Face cache); a checkpoint given as one
 * .safetensors file is that file. */
#ifndef MXC_MANIFEST_H
#define MXC_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

/* Lists the files of the checkpoint at path, sorted by name (bytes, not
 * locale), and hashes each when hash is true (files in parallel, each read
 * once in large pieces). Returns 0 with *out (caller frees each file name
 * and the array), or -1 with err "SIDE 'path': FILE: fault". */
int manifest_list(const char *side, const char *path, bool hash, result_file **out, size_t *count,
                  char *err, size_t errlen);

#endif

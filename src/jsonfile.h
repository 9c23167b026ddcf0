/* jsonfile.h - reading the small JSON files of a checkpoint (index, config)
 * as untrusted input, with the cJSON traps of SPEC §1 handled once. */
#ifndef MXC_JSONFILE_H
#define MXC_JSONFILE_H

#include <cJSON.h>
#include <stddef.h>

#define JSONFILE_MAX_BYTES (100u * 1000u * 1000u)

/* Reads and parses path (shown as `display` in messages). Rejects files over
 * JSONFILE_MAX_BYTES, NUL bytes, invalid UTF-8 and trailing garbage. Returns
 * the tree (caller frees with cJSON_Delete) or NULL with err set. */
cJSON *jsonfile_load(const char *path, const char *display, char *err, size_t errlen);

/* First member name that occurs twice in obj, or NULL. cJSON keeps duplicate
 * members and GetObjectItemCaseSensitive returns the first, while the Rust
 * reference keeps the last: duplicates are ambiguous and must be rejected. */
const char *jsonfile_duplicate_member(const cJSON *obj);

#endif

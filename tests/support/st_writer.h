/* st_writer.h - writing VALID safetensors checkpoints for tests and generators.
 *
 * A stw_writer collects tensors (name, dtype, shape, bytes) and writes one
 * .safetensors file the way the reference implementation lays it out: 8 bytes
 * of little-endian header length N, N bytes of compact JSON padded with spaces
 * to a multiple of 8, then the data buffer, the tensors tiling it in the order
 * they were added (header members in the same order, "__metadata__" first).
 * A stw_index collects a weight map and writes model.safetensors.index.json.
 *
 * Ownership: the writer keeps the POINTER given to stw_add, not a copy; the
 * bytes must stay valid until the last stw_write/stw_serialize. Names and
 * metadata strings are copied. stw_free(NULL) and stw_index_free(NULL) are
 * no-ops.
 *
 * Errors: functions returning int give 0 on success and -1 on failure with a
 * message in the caller's err buffer (which may be NULL). Nothing here exits
 * or prints. Out of memory aborts (util.h). */
#ifndef MXC_TEST_ST_WRITER_H
#define MXC_TEST_ST_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "dtype.h"

#define STW_MAX_RANK 16
#define STW_HEADER_ALIGN 8 /* the reference pads the header with spaces to this */

typedef struct stw_writer stw_writer;
typedef struct stw_index stw_index;

/* An empty writer. */
stw_writer *stw_new(void);
void stw_free(stw_writer *w);

/* Sets (or replaces) a "__metadata__" string entry, e.g. ("format", "pt").
 * Without any, the header has no "__metadata__" member. */
void stw_set_metadata(stw_writer *w, const char *key, const char *value);

/* Appends a tensor. `shape` has `rank` entries (rank 0: a scalar, shape may be
 * NULL); `data` points to numel * dtype size bytes (may be NULL when that is
 * 0) and is not copied. Fails on a duplicate name, rank > STW_MAX_RANK, an
 * overflowing size or a size that is not a whole number of bytes. */
int stw_add(stw_writer *w, const char *name, dtype_id dtype, int rank, const uint64_t *shape,
            const void *data, char *err, size_t errlen);

size_t stw_count(const stw_writer *w);

/* Name of the i-th tensor added (i < stw_count). */
const char *stw_name_at(const stw_writer *w, size_t i);

/* Length of the data buffer: the sum of the tensors' byte sizes. */
uint64_t stw_data_size(const stw_writer *w);

/* The whole file in memory: *out is malloc'ed (caller frees), *len its
 * length. Useful to build fuzz seeds or to corrupt bytes on purpose. */
int stw_serialize(const stw_writer *w, uint8_t **out, size_t *len, char *err, size_t errlen);

/* Writes the file at path (created or truncated). */
int stw_write(const stw_writer *w, const char *path, char *err, size_t errlen);

/* Writes `len` bytes at path (created or truncated). */
int stw_write_bytes(const char *path, const void *data, size_t len, char *err, size_t errlen);

/* Writes the NUL-terminated text at path. */
int stw_write_text(const char *path, const char *text, char *err, size_t errlen);

/* Copies the file src to dst byte for byte. */
int stw_copy_file(const char *src, const char *dst, char *err, size_t errlen);

/* The JSON text of root as Python's json.dumps(indent=2) lays it out (two
 * spaces per level, "key": value), with a final newline; malloc'ed, the
 * caller frees it. Raw nodes are printed as they are. */
char *stw_json_text(const cJSON *root);

/* ---- model.safetensors.index.json ---------------------------------------- */

/* An empty index: {"metadata": {}, "weight_map": {}}. */
stw_index *stw_index_new(void);
void stw_index_free(stw_index *x);

/* Sets (or replaces) an integer entry of "metadata" ("total_size", ...).
 * Written as a plain integer literal, exact up to 2^64-1. */
void stw_index_set_meta_u64(stw_index *x, const char *key, uint64_t value);

/* Maps tensor -> file in "weight_map" (appended; insertion order is kept).
 * No check for duplicates: tests may want them. */
void stw_index_map(stw_index *x, const char *tensor, const char *file);

/* Maps every tensor of w, in the order added, to file. */
void stw_index_map_shard(stw_index *x, const stw_writer *w, const char *file);

/* Writes the index as indented JSON at path. */
int stw_index_write(const stw_index *x, const char *path, char *err, size_t errlen);

#endif

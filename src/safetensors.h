/* safetensors.h - a parser for untrusted .safetensors files.
 *
 * A file is 8 bytes of little-endian header length N, N bytes of JSON header,
 * then the data buffer. Everything in the header is checked before use (see
 * SPEC §1): the parser never trusts a length, count or offset it has not
 * bounded with checked arithmetic. Tensor data is read with pread() into the
 * caller's buffer; the file is never mapped, so a file that shrinks under us
 * gives an error, not SIGBUS.
 *
 * Errors: functions return 0 on success and -1 on failure, writing a message
 * of the form "FILE: tensor 'NAME': FAULT" (or "FILE: FAULT" when no tensor is
 * involved) into the caller's err buffer. Names in messages are escaped. */
#ifndef MXC_SAFETENSORS_H
#define MXC_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "dtype.h"

#define ST_MAX_HEADER_BYTES (100u * 1000u * 1000u) /* 100 MB, as the reference */
#define ST_MAX_RANK 16        /* no real checkpoint comes close */
#define ST_MAX_JSON_DEPTH 4   /* containers: root > tensor > shape/offsets, and one more so
                                 that [[1]] is refused as a shape, naming the tensor */
#define ST_MAX_INTEGER ((uint64_t)1 << 53) /* exact in a double; >= schema 2^48-1 */
#define ST_ERR_LEN 512

typedef struct st_file st_file;

typedef struct {
    const char *name;      /* UTF-8, validated, no NUL; owned by the st_file */
    dtype_id dtype;
    int rank;
    const uint64_t *shape; /* rank entries, owned by the st_file (never NULL) */
    uint64_t numel;        /* product of shape (1 for rank 0) */
    uint64_t begin, end;   /* byte offsets relative to the data buffer */
} st_tensor;

/* Opens and validates path. `display` names the file in messages (NULL: use
 * path). On success *out owns the descriptor and must be closed. */
int st_open(const char *path, const char *display, st_file **out, char *err, size_t errlen);

/* Validates a header held in memory: `header` is the N JSON bytes (not
 * NUL-terminated), `data_len` the length of the data buffer that follows it.
 * The result has no descriptor; st_read on it fails. Used by st_open and by
 * the fuzzers. */
int st_parse_header(const char *header, size_t header_len, uint64_t data_len,
                    const char *display, st_file **out, char *err, size_t errlen);

/* Closes the file and frees everything; st_close(NULL) is a no-op. */
void st_close(st_file *f);

/* The name given as `display` (or path). */
const char *st_display_name(const st_file *f);

size_t st_tensor_count(const st_file *f);

/* Tensors sorted by name; i < st_tensor_count(f). */
const st_tensor *st_tensor_at(const st_file *f, size_t i);

/* Exact, case-sensitive lookup (binary search); NULL when absent. */
const st_tensor *st_tensor_find(const st_file *f, const char *name);

/* Value of a "__metadata__" string entry, NULL when absent. */
const char *st_metadata_get(const st_file *f, const char *key);

/* Absolute file offset of the data buffer (8 + N), and the buffer's length. */
uint64_t st_data_start(const st_file *f);
uint64_t st_data_len(const st_file *f);

/* Bytes [offset, offset+len) of tensor t's data into buf. The range must lie
 * within the tensor. Retries short reads; a file that ended early is an error
 * naming the tensor. */
int st_read(const st_file *f, const st_tensor *t, uint64_t offset, void *buf, size_t len,
            char *err, size_t errlen);

/* Read-ahead hints, for a cold page cache (never errors: a hint the kernel
 * refuses changes nothing). st_advise_sequential: the file will be read in
 * long runs; st_willneed: bytes [offset, offset+len) of t will be read soon,
 * so the kernel starts reading them now. */
void st_advise_sequential(const st_file *f);
void st_willneed(const st_file *f, const st_tensor *t, uint64_t offset, uint64_t len);

#endif

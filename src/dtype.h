/* dtype.h - the one table of safetensors element types.
 *
 * Every size or name of a dtype in the program comes from here. Sizes are in
 * bits because the reference implementation also accepts sub-byte types
 * (F4, F6_*): a tensor's byte length is numel * bits / 8 and must be whole.
 * The list is every name the reference implementation accepts (SPEC §1): a
 * checkpoint with a dtype we do not know is unreadable. */
#ifndef MXC_DTYPE_H
#define MXC_DTYPE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    DT_BOOL, DT_F4, DT_F6_E2M3, DT_F6_E3M2, DT_U8, DT_I8, DT_F8_E5M2, DT_F8_E4M3,
    DT_F8_E8M0, DT_F8_E4M3FNUZ, DT_F8_E5M2FNUZ, DT_I16, DT_U16, DT_F16, DT_BF16, DT_I32, DT_U32, DT_F32, DT_C64,
    DT_F64, DT_I64, DT_U64,
    DT_COUNT
} dtype_id;

struct dtype_traits {
    const char *name; /* as written in safetensors headers, e.g. "BF16" */
    unsigned bits;    /* bits per element */
};

/* Traits of a valid id; never NULL for id < DT_COUNT. */
const struct dtype_traits *dtype_traits(dtype_id id);

/* Name as written in headers ("BF16"). */
const char *dtype_name(dtype_id id);

/* Looks up an exact (case-sensitive) header name. Returns false if unknown. */
bool dtype_from_name(const char *name, dtype_id *out);

/* The fewest bytes that hold a whole number of elements: 1 for F4, 3 for
 * F6_* (four elements), the element size otherwise. Sub-byte elements are
 * packed from the least significant bit of each byte up, as E2M1 codes are
 * (element 2i in the low nibble). */
unsigned dtype_group_bytes(dtype_id id);

/* Byte length of numel elements into *bytes. Returns false on overflow or when
 * the length is not a whole number of bytes (sub-byte dtypes). */
bool dtype_bytes(dtype_id id, uint64_t numel, uint64_t *bytes);

#endif

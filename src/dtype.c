#include "dtype.h"

#include <string.h>

static const struct dtype_traits traits[DT_COUNT] = {
    [DT_BOOL] = {"BOOL", 8},       [DT_F4] = {"F4", 4},
    [DT_F6_E2M3] = {"F6_E2M3", 6}, [DT_F6_E3M2] = {"F6_E3M2", 6},
    [DT_U8] = {"U8", 8},           [DT_I8] = {"I8", 8},
    [DT_F8_E5M2] = {"F8_E5M2", 8}, [DT_F8_E4M3] = {"F8_E4M3", 8},
    [DT_F8_E8M0] = {"F8_E8M0", 8}, [DT_F8_E4M3FNUZ] = {"F8_E4M3FNUZ", 8},
    [DT_F8_E5M2FNUZ] = {"F8_E5M2FNUZ", 8}, [DT_I16] = {"I16", 16},
    [DT_U16] = {"U16", 16},        [DT_F16] = {"F16", 16},
    [DT_BF16] = {"BF16", 16},      [DT_I32] = {"I32", 32},
    [DT_U32] = {"U32", 32},        [DT_F32] = {"F32", 32},
    [DT_C64] = {"C64", 64},        [DT_F64] = {"F64", 64},
    [DT_I64] = {"I64", 64},        [DT_U64] = {"U64", 64},
};

const struct dtype_traits *dtype_traits(dtype_id id)
{
    return id < DT_COUNT ? &traits[id] : NULL;
}

const char *dtype_name(dtype_id id)
{
    return id < DT_COUNT ? traits[id].name : "?";
}

bool dtype_from_name(const char *name, dtype_id *out)
{
    for (int i = 0; i < DT_COUNT; i++) {
        if (strcmp(traits[i].name, name) == 0) {
            *out = (dtype_id)i;
            return true;
        }
    }
    return false;
}

unsigned dtype_group_bytes(dtype_id id)
{
    unsigned bits = id < DT_COUNT ? traits[id].bits : 8, group = bits;
    while (group % 8 != 0) /* lcm(bits, 8) */
        group += bits;
    return group / 8;
}

bool dtype_bytes(dtype_id id, uint64_t numel, uint64_t *bytes)
{
    uint64_t bits;
    if (id >= DT_COUNT || __builtin_mul_overflow(numel, (uint64_t)traits[id].bits, &bits))
        return false;
    if (bits % 8 != 0)
        return false;
    *bytes = bits / 8;
    return true;
}

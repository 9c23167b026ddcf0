/* fuzz_safetensors.c - libFuzzer target for the safetensors header parser.
 *
 * The whole input is the JSON header. The data buffer's length is not in the
 * header, so it is tried two ways: from the first 8 input bytes (any length,
 * bounded so sizes stay plausible) and as the largest decimal literal in the
 * input, which is the end of the last tensor in any header that tiles its
 * buffer; that second guess lets plain JSON seeds reach the accepted path.
 *
 * A header that parses must keep every promise of safetensors.h; a broken
 * promise aborts, which libFuzzer reports as a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

#define FUZZ_MAX_DATA_LEN ((uint64_t)1 << 54) /* a little above ST_MAX_INTEGER */

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond))                                                                     \
            abort();                                                                     \
    } while (0)

static uint64_t le64_prefix(const uint8_t *data, size_t size)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8 && i < size; i++)
        v |= (uint64_t)data[i] << (8 * i);
    return v % (FUZZ_MAX_DATA_LEN + 1);
}

static uint64_t largest_literal(const uint8_t *data, size_t size)
{
    uint64_t best = 0;
    for (size_t i = 0; i < size;) {
        if (data[i] < '0' || data[i] > '9') {
            i++;
            continue;
        }
        uint64_t v = 0;
        for (; i < size && data[i] >= '0' && data[i] <= '9'; i++)
            v = v > FUZZ_MAX_DATA_LEN ? v : v * 10 + (uint64_t)(data[i] - '0');
        if (v <= FUZZ_MAX_DATA_LEN && v > best)
            best = v;
    }
    return best;
}

static void check_tensor(const st_file *f, const st_tensor *t, uint64_t data_len)
{
    CHECK(t && t->name);
    CHECK(strlen(t->name) < ST_MAX_HEADER_BYTES); /* terminated within its allocation */
    CHECK(t->dtype < DT_COUNT);
    CHECK(t->rank >= 0 && t->rank <= ST_MAX_RANK);
    uint64_t numel = 1;
    for (int d = 0; d < t->rank; d++) {
        CHECK(t->shape[d] <= ST_MAX_INTEGER);
        CHECK(!__builtin_mul_overflow(numel, t->shape[d], &numel));
    }
    CHECK(numel == t->numel);
    CHECK(t->begin <= t->end && t->end <= data_len);
    uint64_t bytes;
    CHECK(dtype_bytes(t->dtype, t->numel, &bytes));
    CHECK(bytes == t->end - t->begin);
    CHECK(st_tensor_find(f, t->name) == t);

    /* no descriptor behind a parsed header: reads fail, never crash */
    char err[ST_ERR_LEN];
    unsigned char byte;
    if (t->end > t->begin)
        CHECK(st_read(f, t, 0, &byte, 1, err, sizeof err) == -1);
    CHECK(st_read(f, t, UINT64_MAX, &byte, 1, err, sizeof err) == -1);
}

static int by_range(const void *a, const void *b)
{
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Sorted by range, the tensors must tile [0, data_len) exactly. */
static void check_tiling(const st_file *f, uint64_t data_len)
{
    size_t n = st_tensor_count(f);
    const st_tensor **v = malloc((n ? n : 1) * sizeof *v);
    CHECK(v);
    for (size_t i = 0; i < n; i++)
        v[i] = st_tensor_at(f, i);
    qsort(v, n, sizeof *v, by_range);
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK(v[i]->begin == at);
        at = v[i]->end;
    }
    CHECK(at == data_len);
    free(v);
}

static void parse_and_walk(const char *header, size_t size, uint64_t data_len)
{
    st_file *f = NULL;
    char err[ST_ERR_LEN];
    err[0] = '\0';
    if (st_parse_header(header, size, data_len, "fuzz", &f, err, sizeof err) != 0) {
        CHECK(f == NULL);
        CHECK(memchr(err, '\0', sizeof err) != NULL && strncmp(err, "fuzz: ", 6) == 0);
        return;
    }
    CHECK(f != NULL);
    CHECK(strcmp(st_display_name(f), "fuzz") == 0);
    CHECK(st_data_len(f) == data_len);
    (void)st_data_start(f);
    size_t n = st_tensor_count(f);
    for (size_t i = 0; i < n; i++) {
        const st_tensor *t = st_tensor_at(f, i);
        check_tensor(f, t, data_len);
        if (i > 0)
            CHECK(strcmp(st_tensor_at(f, i - 1)->name, t->name) < 0);
    }
    check_tiling(f, data_len);
    const char *fmt = st_metadata_get(f, "format");
    if (fmt)
        CHECK(strlen(fmt) < size);
    (void)st_metadata_get(f, "");
    (void)st_tensor_find(f, "");
    st_close(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a private copy, exactly size bytes: ASan then sees any read past the
     * header, which the parser must never do (it is not NUL-terminated) */
    char *header = malloc(size ? size : 1);
    if (!header)
        return 0;
    if (size)
        memcpy(header, data, size);
    parse_and_walk(header, size, le64_prefix(data, size));
    parse_and_walk(header, size, largest_literal(data, size));
    free(header);
    return 0;
}

/* test_safetensors.c - the safetensors parser against hand-built files.
 *
 * Every file here is written byte by byte (8-byte LE length, header, data) in
 * a private mkdtemp() directory, so each test says exactly which bytes it
 * feeds the parser. Accepted files check every accessor; refused files check
 * that st_open fails, leaves *out NULL and names the file, the tensor and the
 * fault. Each bound is tested on both sides (SPEC §1: one of the GGUF fixes
 * had its checks written backwards). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safetensors.h"

#define DISPLAY "model-00001.safetensors"
#define TWO_POW_53 "9007199254740992"

static char g_dir[256];
static char g_path[300];

/* ---- writing files ------------------------------------------------------ */

static void write_file(const void *bytes, size_t n)
{
    FILE *fp = fopen(g_path, "wb");
    assert_non_null(fp);
    if (n)
        assert_int_equal(fwrite(bytes, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

/* Writes `declared` as the header length, then hlen header bytes, then dlen
 * data bytes (zeros when data is NULL). declared may differ from hlen: that
 * is how a lying length is built. */
static void write_st_declared(uint64_t declared, const void *hdr, size_t hlen, const void *data,
                              size_t dlen)
{
    size_t n = 8 + hlen + dlen;
    unsigned char *buf = calloc(n, 1);
    assert_non_null(buf);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(declared >> (8 * i));
    if (hlen)
        memcpy(buf + 8, hdr, hlen);
    if (dlen && data)
        memcpy(buf + 8 + hlen, data, dlen);
    write_file(buf, n);
    free(buf);
}

static void write_st(const void *hdr, size_t hlen, const void *data, size_t dlen)
{
    write_st_declared(hlen, hdr, hlen, data, dlen);
}

/* The header padded with spaces to a multiple of 8, as the reference writes
 * it. Returns a static buffer. */
static const char *pad8(const char *json)
{
    static char buf[4096];
    size_t n = strlen(json);
    assert_true(n + 8 < sizeof buf);
    memcpy(buf, json, n);
    while (n % 8 != 0)
        buf[n++] = ' ';
    buf[n] = '\0';
    return buf;
}

/* ---- checking results --------------------------------------------------- */

static void assert_has(const char *err, const char *needle)
{
    if (!strstr(err, needle))
        fail_msg("message \"%s\" lacks \"%s\"", err, needle);
}

static void assert_lacks(const char *err, const char *needle)
{
    if (strstr(err, needle))
        fail_msg("message \"%s\" should not contain \"%s\"", err, needle);
}

/* RFC 3629, written apart from src/text.c so that a message cut in the
 * middle of a sequence is caught. */
static bool utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p, n, min;
        if (c < 0x80) {
            p++;
            continue;
        }
        if ((c & 0xe0) == 0xc0)
            n = 1, c &= 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            n = 2, c &= 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            n = 3, c &= 0x07, min = 0x10000;
        else
            return false;
        for (unsigned i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            c = c << 6 | (p[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

/* A refusal message starts with the display name, holds every phrase, and is
 * one printable line (names are escaped). */
static void check_message(const char *err, const char *const *phrases)
{
    if (strncmp(err, DISPLAY ": ", strlen(DISPLAY) + 2) != 0)
        fail_msg("message \"%s\" does not start with \"" DISPLAY ": \"", err);
    for (size_t i = 0; phrases[i]; i++)
        assert_has(err, phrases[i]);
    for (const char *p = err; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            fail_msg("message \"%s\" holds control byte 0x%02x", err, (unsigned)(unsigned char)*p);
    }
    if (!utf8_ok(err))
        fail_msg("message \"%s\" is not valid UTF-8", err);
}

/* Opens the file written last; it must be refused. The message is left in
 * err for further checks. */
static void open_refused(char *err, size_t errlen, const char *const *phrases)
{
    st_file *f = NULL;
    memset(err, 0, errlen);
    int rc = st_open(g_path, DISPLAY, &f, err, errlen);
    if (rc != -1) {
        st_close(f); /* fail_msg() jumps out: free first */
        fail_msg("st_open accepted a bad file (rc %d)", rc);
    }
    assert_null(f);
    check_message(err, phrases);
}

/* Writes hdr (hlen bytes) followed by dlen zero bytes, and expects both
 * st_open and st_parse_header to refuse it with the given phrases. */
static void refuse_header(const char *hdr, size_t hlen, size_t dlen, const char *const *phrases)
{
    char err[ST_ERR_LEN];
    write_st(hdr, hlen, NULL, dlen);
    open_refused(err, sizeof err, phrases);

    st_file *f = NULL;
    memset(err, 0, sizeof err);
    int rc = st_parse_header(hdr, hlen, dlen, DISPLAY, &f, err, sizeof err);
    if (rc != -1) {
        st_close(f);
        fail_msg("st_parse_header accepted a bad header (rc %d)", rc);
    }
    assert_null(f);
    check_message(err, phrases);
}

#define PHRASES(...) ((const char *const[]){__VA_ARGS__, NULL})
/* REFUSE(header string, data length, phrase...) */
#define REFUSE(hdr, dlen, ...) refuse_header((hdr), strlen(hdr), (dlen), PHRASES(__VA_ARGS__))
/* For headers holding NUL bytes: the length is sizeof - 1 of a literal. */
#define REFUSE_LIT(lit, dlen, ...) refuse_header((lit), sizeof(lit) - 1, (dlen), PHRASES(__VA_ARGS__))

static st_file *open_ok(void)
{
    st_file *f = NULL;
    char err[ST_ERR_LEN] = "";
    int rc = st_open(g_path, DISPLAY, &f, err, sizeof err);
    if (rc != 0)
        fail_msg("st_open refused a valid file: %s", err);
    assert_non_null(f);
    return f;
}

static st_file *accept_header(const char *hdr, size_t dlen)
{
    write_st(hdr, strlen(hdr), NULL, dlen);
    return open_ok();
}

static const st_tensor *find_ok(const st_file *f, const char *name)
{
    const st_tensor *t = st_tensor_find(f, name);
    if (!t)
        fail_msg("tensor '%s' not found", name);
    assert_string_equal(t->name, name);
    return t;
}

/* ---- fixture ------------------------------------------------------------ */

static int group_setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/mxc-st-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir))
        return -1;
    snprintf(g_path, sizeof g_path, "%s/%s", g_dir, DISPLAY);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(g_path);
    return rmdir(g_dir);
}

/* ======================================================================== */
/* Accepted files                                                            */
/* ======================================================================== */

/* Listed out of name order and out of offset order, so that sorting shows. */
static const char VALID_JSON[] =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"zeta.weight\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
    "\"alpha.bias\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[12,16]}}";

static const uint16_t VALID_BF16[6] = {0x3f80, 0xc000, 0x3f00, 0x4049, 0x0000, 0x7f80};
static const uint8_t VALID_U8[4] = {0, 127, 128, 255};

/* Writes the valid file and returns the header length N. */
static size_t write_valid(void)
{
    unsigned char data[16];
    for (int i = 0; i < 6; i++) {
        data[2 * i] = (unsigned char)(VALID_BF16[i] & 0xff); /* little endian on disk */
        data[2 * i + 1] = (unsigned char)(VALID_BF16[i] >> 8);
    }
    memcpy(data + 12, VALID_U8, 4);
    const char *hdr = pad8(VALID_JSON);
    size_t n = strlen(hdr);
    assert_int_equal(n % 8, 0);
    assert_true(n > strlen(VALID_JSON)); /* the padding is really there */
    write_st(hdr, n, data, sizeof data);
    return n;
}

static void test_valid_two_tensors(void **state)
{
    (void)state;
    size_t n = write_valid();
    st_file *f = open_ok();

    assert_string_equal(st_display_name(f), DISPLAY);
    assert_int_equal(st_tensor_count(f), 2);
    assert_int_equal(st_data_start(f), 8 + n);
    assert_int_equal(st_data_len(f), 16);

    assert_string_equal(st_tensor_at(f, 0)->name, "alpha.bias");
    assert_string_equal(st_tensor_at(f, 1)->name, "zeta.weight");

    const st_tensor *w = find_ok(f, "zeta.weight");
    assert_ptr_equal(w, st_tensor_at(f, 1));
    assert_int_equal(w->dtype, DT_BF16);
    assert_int_equal(w->rank, 2);
    assert_int_equal(w->shape[0], 2);
    assert_int_equal(w->shape[1], 3);
    assert_int_equal(w->numel, 6);
    assert_int_equal(w->begin, 0);
    assert_int_equal(w->end, 12);

    const st_tensor *b = find_ok(f, "alpha.bias");
    assert_ptr_equal(b, st_tensor_at(f, 0));
    assert_int_equal(b->dtype, DT_U8);
    assert_int_equal(b->rank, 1);
    assert_int_equal(b->shape[0], 4);
    assert_int_equal(b->numel, 4);
    assert_int_equal(b->begin, 12);
    assert_int_equal(b->end, 16);

    /* exact, case-sensitive lookup: neither prefixes nor other cases match */
    assert_null(st_tensor_find(f, "zeta"));
    assert_null(st_tensor_find(f, "zeta.weight."));
    assert_null(st_tensor_find(f, "Zeta.weight"));
    assert_null(st_tensor_find(f, ""));
    assert_null(st_tensor_find(f, "__metadata__")); /* not a tensor */

    assert_string_equal(st_metadata_get(f, "format"), "pt");
    assert_null(st_metadata_get(f, "Format"));
    assert_null(st_metadata_get(f, "missing"));

    st_close(f);
}

static void test_valid_read_round_trips(void **state)
{
    (void)state;
    write_valid();
    st_file *f = open_ok();
    char err[ST_ERR_LEN] = "";
    const st_tensor *w = find_ok(f, "zeta.weight");
    const st_tensor *b = find_ok(f, "alpha.bias");

    unsigned char raw[12];
    assert_int_equal(st_read(f, w, 0, raw, sizeof raw, err, sizeof err), 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(raw[2 * i] | raw[2 * i + 1] << 8, VALID_BF16[i]);

    /* a slice in the middle of the tensor */
    unsigned char mid[4];
    assert_int_equal(st_read(f, w, 4, mid, sizeof mid, err, sizeof err), 0);
    assert_int_equal(mid[0] | mid[1] << 8, VALID_BF16[2]);
    assert_int_equal(mid[2] | mid[3] << 8, VALID_BF16[3]);

    uint8_t u8[4];
    assert_int_equal(st_read(f, b, 0, u8, sizeof u8, err, sizeof err), 0);
    assert_memory_equal(u8, VALID_U8, 4);

    /* the last byte of a tensor: the range may end exactly at its end */
    assert_int_equal(st_read(f, b, 3, u8, 1, err, sizeof err), 0);
    assert_int_equal(u8[0], 255);
    st_close(f);
}

static void test_read_outside_tensor_refused(void **state)
{
    (void)state;
    write_valid();
    st_file *f = open_ok();
    char err[ST_ERR_LEN] = "";
    const st_tensor *w = find_ok(f, "zeta.weight");
    unsigned char buf[16];

    /* one byte past the end of the tensor (12 bytes) */
    assert_int_equal(st_read(f, w, 10, buf, 3, err, sizeof err), -1);
    assert_has(err, "zeta.weight");
    /* longer than the tensor: would read the next tensor's bytes */
    assert_int_equal(st_read(f, w, 0, buf, 13, err, sizeof err), -1);
    /* offset + len wraps around 2^64 */
    assert_int_equal(st_read(f, w, UINT64_MAX, buf, 2, err, sizeof err), -1);
    assert_int_equal(st_read(f, w, UINT64_MAX - 1, buf, 4, err, sizeof err), -1);
    st_close(f);
}

static void test_valid_scalar(void **state)
{
    (void)state;
    const char *hdr = pad8("{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}");
    float v = 3.5f;
    write_st(hdr, strlen(hdr), &v, sizeof v);
    st_file *f = open_ok();
    const st_tensor *t = find_ok(f, "s");
    assert_int_equal(t->rank, 0);
    assert_int_equal(t->numel, 1);
    assert_int_equal(t->dtype, DT_F32);
    assert_int_equal(t->begin, 0);
    assert_int_equal(t->end, 4);
    float got = 0;
    char err[ST_ERR_LEN] = "";
    assert_int_equal(st_read(f, t, 0, &got, sizeof got, err, sizeof err), 0);
    assert_true(got == 3.5f);
    st_close(f);
}

static void test_valid_zero_size(void **state)
{
    (void)state;
    /* zero-size tensors at the start, between two tensors, twice at the same
     * offset, and at the very end (offsets [n, n] with n == data_len) */
    st_file *f = accept_header(
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
        "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]},"
        "\"z0\":{\"dtype\":\"BF16\",\"shape\":[0],\"data_offsets\":[0,0]},"
        "\"z1\":{\"dtype\":\"F32\",\"shape\":[3,0],\"data_offsets\":[2,2]},"
        "\"z2\":{\"dtype\":\"U8\",\"shape\":[0,5],\"data_offsets\":[2,2]},"
        "\"z3\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]}}",
        4);
    assert_int_equal(st_tensor_count(f), 6);
    const st_tensor *z = find_ok(f, "z3");
    assert_int_equal(z->rank, 1);
    assert_int_equal(z->shape[0], 0);
    assert_int_equal(z->numel, 0);
    assert_int_equal(z->begin, 4);
    assert_int_equal(z->end, 4);
    z = find_ok(f, "z1");
    assert_int_equal(z->rank, 2);
    assert_int_equal(z->numel, 0);
    assert_int_equal(z->begin, 2);
    assert_int_equal(z->end, 2);
    assert_int_equal(find_ok(f, "z0")->numel, 0);
    st_close(f);
}

static void test_valid_f8_e8m0(void **state)
{
    (void)state;
    const char *hdr = pad8("{\"w_scales\":{\"dtype\":\"F8_E8M0\",\"shape\":[2,2],\"data_offsets\":[0,4]}}");
    const uint8_t data[4] = {0, 126, 127, 254};
    write_st(hdr, strlen(hdr), data, sizeof data);
    st_file *f = open_ok();
    const st_tensor *t = find_ok(f, "w_scales");
    assert_int_equal(t->dtype, DT_F8_E8M0);
    assert_int_equal(t->numel, 4);
    uint8_t got[4];
    char err[ST_ERR_LEN] = "";
    assert_int_equal(st_read(f, t, 0, got, sizeof got, err, sizeof err), 0);
    assert_memory_equal(got, data, 4);
    st_close(f);
}

static void test_valid_empty_header(void **state)
{
    (void)state;
    write_st("{}", 2, NULL, 0);
    st_file *f = open_ok();
    assert_int_equal(st_tensor_count(f), 0);
    assert_int_equal(st_data_start(f), 10);
    assert_int_equal(st_data_len(f), 0);
    assert_null(st_tensor_find(f, "a"));
    assert_null(st_metadata_get(f, "format"));
    st_close(f);

    /* the same, padded as the reference pads */
    f = accept_header("{}      ", 0);
    assert_int_equal(st_tensor_count(f), 0);
    assert_int_equal(st_data_start(f), 16);
    st_close(f);
}

static void test_valid_sort_is_bytewise(void **state)
{
    (void)state;
    /* "A" (0x41) < "a" < "a.b" < "b" < "\xc3\xa9" (é): strcmp order */
    st_file *f = accept_header(
        "{\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
        "\"\xc3\xa9\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]},"
        "\"a.b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]},"
        "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[3,4]},"
        "\"A\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[4,5]}}",
        5);
    const char *want[] = {"A", "a", "a.b", "b", "\xc3\xa9"};
    assert_int_equal(st_tensor_count(f), 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(st_tensor_at(f, i)->name, want[i]);
        assert_ptr_equal(st_tensor_find(f, want[i]), st_tensor_at(f, i));
    }
    assert_int_equal(find_ok(f, "A")->begin, 4);
    assert_int_equal(find_ok(f, "a")->begin, 3);
    assert_null(st_tensor_find(f, "B"));
    assert_null(st_tensor_find(f, "a."));
    assert_null(st_tensor_find(f, "0"));
    assert_null(st_tensor_find(f, "\xff"));
    st_close(f);
}

static void test_valid_utf8_names(void **state)
{
    (void)state;
    /* 2-, 3- and 4-byte sequences, the largest code point U+10FFFF, and an
     * escaped name that cJSON decodes to UTF-8 */
    st_file *f = accept_header(
        "{\"\xc3\xa9\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
        "\"\xe2\x82\xac\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]},"
        "\"\xf0\x9f\x98\x80\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]},"
        "\"\xf4\x8f\xbf\xbf\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[3,4]},"
        "\"x\\u00fc\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[4,5]}}",
        5);
    assert_int_equal(st_tensor_count(f), 5);
    find_ok(f, "\xc3\xa9");
    find_ok(f, "\xe2\x82\xac");
    find_ok(f, "\xf0\x9f\x98\x80");
    find_ok(f, "\xf4\x8f\xbf\xbf");
    find_ok(f, "x\xc3\xbc");
    st_close(f);
}

static void test_valid_rank16(void **state)
{
    (void)state;
    st_file *f = accept_header(
        "{\"r\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,2],"
        "\"data_offsets\":[0,2]}}",
        2);
    const st_tensor *t = find_ok(f, "r");
    assert_int_equal(t->rank, ST_MAX_RANK);
    assert_int_equal(t->shape[15], 2);
    assert_int_equal(t->numel, 2);
    st_close(f);
}

static void test_valid_trailing_spaces(void **state)
{
    (void)state;
    st_file *f = accept_header(
        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}                 ", 1);
    assert_int_equal(st_tensor_count(f), 1);
    st_close(f);
}

static void test_valid_metadata_empty_and_many(void **state)
{
    (void)state;
    st_file *f = accept_header("{\"__metadata__\":{}}", 0);
    assert_int_equal(st_tensor_count(f), 0);
    assert_null(st_metadata_get(f, "format"));
    st_close(f);

    f = accept_header("{\"__metadata__\":{\"format\":\"pt\",\"note\":\"a \\\"quoted\\\" \\u00e9\",\"e\":\"\"},"
                      "\"t\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}",
                      8);
    assert_string_equal(st_metadata_get(f, "format"), "pt");
    assert_string_equal(st_metadata_get(f, "note"), "a \"quoted\" \xc3\xa9");
    assert_string_equal(st_metadata_get(f, "e"), "");
    assert_int_equal(st_tensor_count(f), 1);
    st_close(f);
}

/* numel × bits / 8 must be whole: 4 F4 values fill 2 bytes, 3 do not */
static void test_f4_whole_bytes(void **state)
{
    (void)state;
    st_file *f = accept_header("{\"q\":{\"dtype\":\"F4\",\"shape\":[4],\"data_offsets\":[0,2]}}", 2);
    assert_int_equal(find_ok(f, "q")->numel, 4);
    st_close(f);
    REFUSE("{\"q\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2, "tensor 'q'");
}

/* Offsets above 2^31 (5 GB shards) must not go through cJSON's valueint, which
 * saturates at INT_MAX; 2^53 itself is still an accepted integer. */
static void test_valid_large_offsets(void **state)
{
    (void)state;
    st_file *f = NULL;
    char err[ST_ERR_LEN] = "";
    const char *hdr = "{\"big\":{\"dtype\":\"U8\",\"shape\":[5000000000],\"data_offsets\":[0,5000000000]}}";
    if (st_parse_header(hdr, strlen(hdr), 5000000000u, DISPLAY, &f, err, sizeof err) != 0)
        fail_msg("refused: %s", err);
    const st_tensor *t = find_ok(f, "big");
    assert_int_equal(t->shape[0], 5000000000u);
    assert_int_equal(t->numel, 5000000000u);
    assert_int_equal(t->end, 5000000000u);
    assert_int_equal(st_data_len(f), 5000000000u);
    /* a parsed header has no descriptor: reading fails, cleanly */
    unsigned char b;
    assert_int_equal(st_read(f, t, 0, &b, 1, err, sizeof err), -1);
    st_close(f);

    f = NULL;
    hdr = "{\"m\":{\"dtype\":\"BOOL\",\"shape\":[" TWO_POW_53 "],\"data_offsets\":[0," TWO_POW_53 "]}}";
    if (st_parse_header(hdr, strlen(hdr), ST_MAX_INTEGER, DISPLAY, &f, err, sizeof err) != 0)
        fail_msg("refused: %s", err);
    t = find_ok(f, "m");
    assert_int_equal(t->numel, ST_MAX_INTEGER);
    assert_int_equal(t->end, ST_MAX_INTEGER);
    st_close(f);
}

static void test_display_null_uses_path(void **state)
{
    (void)state;
    write_valid();
    st_file *f = NULL;
    char err[ST_ERR_LEN] = "";
    assert_int_equal(st_open(g_path, NULL, &f, err, sizeof err), 0);
    assert_string_equal(st_display_name(f), g_path);
    st_close(f);

    write_st("[]", 2, NULL, 0);
    f = NULL;
    assert_int_equal(st_open(g_path, NULL, &f, err, sizeof err), -1);
    assert_null(f);
    assert_has(err, g_path);
}

static void test_close_null(void **state)
{
    (void)state;
    st_close(NULL);
}

static void test_err_buffer_small(void **state)
{
    (void)state;
    write_st("[]", 2, NULL, 0);
    char buf[24];
    memset(buf, 'X', sizeof buf);
    st_file *f = NULL;
    /* only 16 of 24 bytes offered: the rest must stay untouched */
    assert_int_equal(st_open(g_path, DISPLAY, &f, buf, 16), -1);
    assert_null(f);
    assert_true(memchr(buf, '\0', 16) != NULL);
    for (size_t i = 16; i < sizeof buf; i++)
        assert_int_equal(buf[i], 'X');
    assert_int_equal(strncmp(buf, DISPLAY, strlen(buf)), 0);
}

static void test_missing_file(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/does-not-exist.safetensors", g_dir);
    st_file *f = NULL;
    char err[ST_ERR_LEN] = "";
    assert_int_equal(st_open(path, DISPLAY, &f, err, sizeof err), -1);
    assert_null(f);
    check_message(err, PHRASES(DISPLAY));
}

/* ======================================================================== */
/* Refused: the file and its header length                                  */
/* ======================================================================== */

static void test_short_file_empty(void **state)
{
    (void)state;
    char err[ST_ERR_LEN];
    write_file("", 0);
    open_refused(err, sizeof err, PHRASES("shorter than the 8-byte header length"));
}

static void test_short_file_7_bytes(void **state)
{
    (void)state;
    char err[ST_ERR_LEN];
    write_file("\x02\0\0\0\0\0\0", 7);
    open_refused(err, sizeof err, PHRASES("shorter than the 8-byte header length"));
}

static void test_eight_bytes_zero_header(void **state)
{
    (void)state;
    /* the other side of the bound: 8 bytes is long enough, but an empty
     * header is not a JSON object */
    char err[ST_ERR_LEN];
    write_st("", 0, NULL, 0);
    open_refused(err, sizeof err, PHRASES(DISPLAY));
    assert_lacks(err, "shorter than");
}

static void test_header_len_exceeds_file(void **state)
{
    (void)state;
    char err[ST_ERR_LEN];
    const char *hdr = "{}      ";
    /* one byte more than the file holds */
    write_st_declared(9, hdr, 8, NULL, 0);
    open_refused(err, sizeof err, PHRASES("exceeds file size"));
    /* exactly what the file holds is fine */
    write_st_declared(8, hdr, 8, NULL, 0);
    st_close(open_ok());
}

static void test_header_len_at_limit(void **state)
{
    (void)state;
    /* exactly 100 MB is allowed by the limit; the small file then fails the
     * size check instead */
    char err[ST_ERR_LEN];
    write_st_declared(ST_MAX_HEADER_BYTES, "{}", 2, NULL, 0);
    open_refused(err, sizeof err, PHRASES("exceeds file size"));
    assert_lacks(err, "100 MB");
}

static void test_header_len_over_limit(void **state)
{
    (void)state;
    char err[ST_ERR_LEN];
    write_st_declared((uint64_t)ST_MAX_HEADER_BYTES + 1, "{}", 2, NULL, 0);
    open_refused(err, sizeof err, PHRASES("exceeds the 100 MB limit"));
}

static void test_header_len_wraps(void **state)
{
    (void)state;
    /* 8 + N wraps to 0 (or near it) if added unchecked */
    char err[ST_ERR_LEN];
    write_st_declared(UINT64_MAX - 7, "{}", 2, NULL, 0);
    open_refused(err, sizeof err, PHRASES("exceeds the 100 MB limit"));
    write_st_declared(UINT64_MAX, "{}", 2, NULL, 0);
    open_refused(err, sizeof err, PHRASES("exceeds the 100 MB limit"));
}

/* ======================================================================== */
/* Refused: bytes, UTF-8 and JSON syntax                                     */
/* ======================================================================== */

static void test_utf8_invalid_continuation(void **state)
{
    (void)state;
    REFUSE("{\"a\xc3\x28\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
           "not valid UTF-8");
}

static void test_utf8_overlong(void **state)
{
    (void)state;
    /* 0xC0 0xAF is an overlong '/' */
    REFUSE("{\"a\xc0\xaf\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
           "not valid UTF-8");
}

static void test_utf8_other_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\xe0\x80\xaf",     /* overlong 3-byte */
        "\xf0\x80\x80\xaf", /* overlong 4-byte */
        "\xed\xa0\x80",     /* UTF-16 surrogate U+D800 */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf8\x88\x80\x80\x80", /* 5-byte form */
        "\xff",             /* never valid */
        "\x80",             /* lone continuation */
        "\xe2\x82",         /* truncated sequence before the quote */
    };
    char hdr[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(hdr, sizeof hdr,
                 "{\"n%s\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", bad[i]);
        REFUSE(hdr, 1, "not valid UTF-8");
    }
    /* in a metadata value, too */
    REFUSE("{\"__metadata__\":{\"k\":\"v\xc3\"}}", 0, "not valid UTF-8");
    /* invalid UTF-8 at the very end of the header */
    REFUSE("{}\xc3", 0, DISPLAY);
}

static void test_utf8_bom_refused(void **state)
{
    (void)state;
    /* cJSON skips a UTF-8 BOM; the reference requires the header to start
     * with '{' */
    REFUSE("\xef\xbb\xbf{}", 0, DISPLAY);
}

static void test_raw_nul_byte(void **state)
{
    (void)state;
    REFUSE_LIT("{\"a\0b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "NUL byte");
    /* a NUL in the padding: cJSON would stop there and see valid JSON */
    REFUSE_LIT("{}\0     ", 0, "NUL byte");
}

static void test_escaped_nul_in_name(void **state)
{
    (void)state;
    /* cJSON decodes \u0000 into a NUL, so the name would read as "a" */
    REFUSE("{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "NUL byte");
    /* an escaped backslash before u0000 is not an escape of NUL: accepted */
    st_file *f = accept_header(
        "{\"a\\\\u0000b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
    find_ok(f, "a\\u0000b");
    st_close(f);
}

static void test_invalid_json(void **state)
{
    (void)state;
    REFUSE("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}", 1, "not valid JSON");
    REFUSE("{\"a\":", 0, "not valid JSON");
    REFUSE("{'a':{}}", 0, "not valid JSON");
    REFUSE("{\"a\":{\"dtype\":\"U8\",\"shape\":[1,],\"data_offsets\":[0,1]}}", 1, "not valid JSON");
    REFUSE("   ", 0, DISPLAY);
}

static void test_trailing_garbage(void **state)
{
    (void)state;
    REFUSE("{}x", 0, "trailing data after the JSON value");
    REFUSE("{}   x  ", 0, "trailing data after the JSON value");
    REFUSE("{}{}", 0, "trailing data after the JSON value");
    /* spaces alone are fine */
    st_close(accept_header("{}      ", 0));
}

static void test_root_not_object(void **state)
{
    (void)state;
    REFUSE("[]", 0, "not a JSON object");
    REFUSE("\"x\"", 0, "not a JSON object");
    REFUSE("1", 0, "not a JSON object");
    REFUSE("null", 0, "not a JSON object");
}

static void test_nesting_too_deep(void **state)
{
    (void)state;
    REFUSE("{\"a\":{\"dtype\":[[[[1]]]],\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
           "nests deeper than");
    REFUSE("{\"a\":{\"dtype\":\"U8\",\"shape\":[[[[1]]]],\"data_offsets\":[0,1]}}", 1,
           "nests deeper than");
    REFUSE("{\"__metadata__\":{\"k\":{\"x\":{\"y\":{}}}}}", 0, "nests deeper than");
}

static void test_nesting_extreme(void **state)
{
    (void)state;
    /* deep enough to exhaust a recursive parser's stack: must be refused,
     * not crash (cJSON itself stops at 1000) */
    enum { DEPTH = 100000 };
    char *hdr = malloc(2 * DEPTH + 16);
    assert_non_null(hdr);
    size_t n = 0;
    hdr[n++] = '{';
    memcpy(hdr + n, "\"a\":", 4);
    n += 4;
    for (int i = 0; i < DEPTH; i++)
        hdr[n++] = '[';
    for (int i = 0; i < DEPTH; i++)
        hdr[n++] = ']';
    hdr[n++] = '}';
    refuse_header(hdr, n, 0, PHRASES(DISPLAY));
    free(hdr);
}

/* ======================================================================== */
/* Refused: tensor entries                                                   */
/* ======================================================================== */

static void test_entry_not_object(void **state)
{
    (void)state;
    REFUSE("{\"w\":1}", 0, "tensor 'w'", "is not an object");
    REFUSE("{\"w\":[]}", 0, "tensor 'w'", "is not an object");
    REFUSE("{\"w\":\"U8\"}", 0, "tensor 'w'", "is not an object");
    REFUSE("{\"w\":null}", 0, "tensor 'w'", "is not an object");
}

static void test_unknown_dtype(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "tensor 'w'",
           "unknown dtype");
}

static void test_dtype_wrong_case(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"dtype\":\"bf16\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2, "tensor 'w'",
           "unknown dtype");
}

static void test_dtype_not_string(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "tensor 'w'");
    REFUSE("{\"w\":{\"dtype\":\"\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "tensor 'w'",
           "unknown dtype");
}

static void test_missing_dtype(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "tensor 'w'", "missing \"dtype\"");
    /* keys are case-sensitive (cJSON_GetObjectItem is not) */
    REFUSE("{\"w\":{\"DTYPE\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "tensor 'w'",
           "missing \"dtype\"");
}

static void test_missing_shape(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", 1, "tensor 'w'", "missing \"shape\"");
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"Shape\":[1],\"data_offsets\":[0,1]}}", 1, "tensor 'w'",
           "missing \"shape\"");
}

static void test_missing_data_offsets(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1, "tensor 'w'", "missing \"data_offsets\"");
}

static void test_shape_negative(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[2,-1],\"data_offsets\":[0,2]}}", 2, "tensor 'w'",
           "shape[1]", "is not an integer in 0..2^53");
}

static void test_shape_fraction(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1.5],\"data_offsets\":[0,1]}}", 1, "tensor 'w'",
           "shape[0]", "is not an integer in 0..2^53");
    /* integral in value, but not written as an integer */
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]}}", 1, "tensor 'w'",
           "shape[0]", "is not an integer in 0..2^53");
}

static void test_shape_exponent(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1e3],\"data_offsets\":[0,1000]}}", 1000, "tensor 'w'",
           "shape[0]", "is not an integer in 0..2^53");
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1E3],\"data_offsets\":[0,1000]}}", 1000, "tensor 'w'",
           "shape[0]", "is not an integer in 0..2^53");
}

static void test_shape_above_2_53(void **state)
{
    (void)state;
    /* 2^53 + 2, exactly representable as a double */
    REFUSE("{\"w\":{\"dtype\":\"BOOL\",\"shape\":[9007199254740994],\"data_offsets\":[0,1]}}", 1,
           "tensor 'w'", "shape[0]", "is not an integer in 0..2^53");
    REFUSE("{\"w\":{\"dtype\":\"BOOL\",\"shape\":[1e300],\"data_offsets\":[0,1]}}", 1, "tensor 'w'",
           "shape[0]", "is not an integer in 0..2^53");
}

static void test_shape_2_53_reaches_length_check(void **state)
{
    (void)state;
    /* the other side: 2^53 is an accepted integer, so this small file fails
     * the length check, not the integer check */
    char err[ST_ERR_LEN];
    const char *hdr = "{\"w\":{\"dtype\":\"BOOL\",\"shape\":[" TWO_POW_53 "],\"data_offsets\":[0,1]}}";
    write_st(hdr, strlen(hdr), NULL, 1);
    open_refused(err, sizeof err, PHRASES("tensor 'w'", "differs from numel"));
    assert_lacks(err, "is not an integer");
}

static void test_shape_string(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[\"1\"],\"data_offsets\":[0,1]}}", 1, "tensor 'w'",
           "shape[0]", "is not an integer in 0..2^53");
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[true],\"data_offsets\":[0,1]}}", 1, "tensor 'w'",
           "shape[0]", "is not an integer in 0..2^53");
}

static void test_shape_not_array(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":1,\"data_offsets\":[0,1]}}", 1, "tensor 'w'", "shape");
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":{},\"data_offsets\":[0,1]}}", 1, "tensor 'w'", "shape");
}

static void test_shape_product_overflow(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,1]}}", 1,
           "tensor 'w'", "shape overflows");
    /* exactly 2^64 */
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,1]}}", 1,
           "tensor 'w'", "shape overflows");
}

static void test_byte_size_fits(void **state)
{
    (void)state;
    /* Sizes are counted in bits (sub-byte dtypes): a U8 tensor of 2^61 - 2^31
     * elements is 2^64 - 2^34 bits and fits, so this small file fails the
     * length check, not an overflow check. */
    char err[ST_ERR_LEN];
    const char *hdr =
        "{\"w\":{\"dtype\":\"U8\",\"shape\":[2147483648,1073741823],\"data_offsets\":[0,1]}}";
    write_st(hdr, strlen(hdr), NULL, 1);
    open_refused(err, sizeof err, PHRASES("tensor 'w'", "differs from numel"));
    assert_lacks(err, "overflow");
}

static void test_byte_size_overflow(void **state)
{
    (void)state;
    /* numel 2^63 fits in 64 bits, numel x 16 bits does not */
    REFUSE("{\"w\":{\"dtype\":\"BF16\",\"shape\":[4294967296,2147483648],\"data_offsets\":[0,2]}}", 2,
           "tensor 'w'", "overflow");
    /* the other side of test_byte_size_fits: 2^61 U8 elements are 2^64 bits */
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[2147483648,1073741824],\"data_offsets\":[0,1]}}", 1,
           "tensor 'w'", "overflow");
}

static void test_rank_17(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],"
           "\"data_offsets\":[0,1]}}",
           1, "tensor 'w'", "rank 17 exceeds 16");
}

/* ======================================================================== */
/* Refused: offsets and the data buffer                                      */
/* ======================================================================== */

static void test_offsets_end_before_begin(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[1,0]}}", 1, "tensor 'w'",
           "end < begin");
    /* wrapping: end - begin must not underflow into a huge length */
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,1]}}", 2, "tensor 'w'",
           "end < begin");
}

static void test_offsets_outside_buffer(void **state)
{
    (void)state;
    /* end == data_len + 1 */
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 1, "tensor 'w'",
           "outside the data buffer");
    /* a zero-size tensor beyond the end */
    REFUSE("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
           "\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[5,5]}}",
           1, "tensor 'w'", "outside the data buffer");
    /* the other side: end == data_len */
    st_close(accept_header("{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2));
}

static void test_offsets_huge(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[" TWO_POW_53 ",9007199254740993]}}",
           1, "tensor 'w'");
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,9007199254740994]}}", 1,
           "tensor 'w'", "data_offsets");
}

static void test_offsets_not_integer(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1.5]}}", 2, "tensor 'w'",
           "data_offsets", "is not an integer in 0..2^53");
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]}}", 1, "tensor 'w'",
           "data_offsets", "is not an integer in 0..2^53");
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1e0]}}", 1, "tensor 'w'",
           "data_offsets", "is not an integer in 0..2^53");
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[\"0\",1]}}", 1, "tensor 'w'",
           "data_offsets", "is not an integer in 0..2^53");
}

static void test_tensors_overlap(void **state)
{
    (void)state;
    REFUSE("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
           "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}}",
           3, "overlaps tensor", "'a'", "'b'");
    /* the same range twice */
    REFUSE("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
           "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}",
           2, "overlaps tensor", "'a'", "'b'");
    /* an empty tensor strictly inside another (the reference refuses it) */
    REFUSE("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
           "\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[2,2]}}",
           4, "overlaps tensor", "'a'", "'z'");
    /* the other side: adjacent tensors */
    st_close(accept_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                           "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}",
                           4));
}

static void test_length_differs(void **state)
{
    (void)state;
    /* one byte short and one byte long of 3 × 2 bytes */
    REFUSE("{\"w\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,5]}}", 5, "tensor 'w'",
           "differs from numel");
    REFUSE("{\"w\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,7]}}", 7, "tensor 'w'",
           "differs from numel");
    st_close(accept_header("{\"w\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,6]}}", 6));
}

static void test_duplicate_names(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
           "\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
           2, "duplicate tensor name", "'w'");
    /* the same name after unescaping */
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
           "\"\\u0077\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
           2, "duplicate tensor name", "'w'");
    /* far apart, with other names between */
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
           "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]},"
           "\"z\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]},"
           "\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[3,4]}}",
           4, "duplicate tensor name", "'w'");
}

static void test_duplicate_key_in_entry(void **state)
{
    (void)state;
    /* cJSON keeps both "dtype" members and finds the first; the reference
     * (serde) refuses a duplicate field */
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
           "tensor 'w'", "duplicate");
    REFUSE("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, "__metadata__", "duplicate");
}

static void test_hole_between(void **state)
{
    (void)state;
    REFUSE("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
           "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]}}",
           3, "hole in the data buffer");
}

static void test_hole_at_end(void **state)
{
    (void)state;
    REFUSE("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 2,
           "hole in the data buffer");
    /* an empty header over a non-empty buffer */
    REFUSE("{}", 4, "hole in the data buffer");
}

static void test_hole_at_start(void **state)
{
    (void)state;
    REFUSE("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2,
           "hole in the data buffer");
}

static void test_data_offsets_three(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,1]}}", 1, "tensor 'w'",
           "data_offsets must be [begin, end]");
}

static void test_data_offsets_other_shapes(void **state)
{
    (void)state;
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1]}}", 1, "tensor 'w'",
           "data_offsets must be [begin, end]");
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[]}}", 1, "tensor 'w'",
           "data_offsets must be [begin, end]");
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":1}}", 1, "tensor 'w'",
           "data_offsets must be [begin, end]");
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":{\"0\":0,\"1\":1}}}", 1,
           "tensor 'w'", "data_offsets must be [begin, end]");
}

static void test_metadata_non_string(void **state)
{
    (void)state;
    REFUSE("{\"__metadata__\":{\"format\":1}}", 0, "__metadata__");
    REFUSE("{\"__metadata__\":{\"format\":null}}", 0, "__metadata__");
    REFUSE("{\"__metadata__\":{\"format\":[\"pt\"]}}", 0, "__metadata__");
}

static void test_metadata_not_object(void **state)
{
    (void)state;
    REFUSE("{\"__metadata__\":\"pt\"}", 0, "__metadata__");
    REFUSE("{\"__metadata__\":[]}", 0, "__metadata__");
}

static void test_metadata_null_is_none(void **state)
{
    (void)state;
    /* the reference reads __metadata__ as Option<HashMap>: null means none */
    st_file *f = accept_header("{\"__metadata__\":null,\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
    assert_null(st_metadata_get(f, "format"));
    assert_int_equal(st_tensor_count(f), 1);
    st_close(f);
}

static void test_metadata_nul(void **state)
{
    (void)state;
    REFUSE("{\"__metadata__\":{\"k\":\"a\\u0000b\"}}", 0, "NUL byte");
}

static void test_names_escaped_in_messages(void **state)
{
    (void)state;
    /* a name holding ESC, newline and DEL must not reach a terminal raw;
     * check_message() refuses any control byte in the message */
    REFUSE("{\"a\\u001b[2Jb\\n\x7f\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
           "unknown dtype");
}

static void test_control_bytes_in_json(void **state)
{
    (void)state;
    /* JSON allows only space, tab, LF and CR between tokens, and no raw byte
     * below 0x20 inside a string; cJSON skips any byte <= 0x20 as whitespace
     * and copies raw control bytes into strings. The reference refuses both. */
    REFUSE("{\"a\x01\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, DISPLAY);
    REFUSE("{\"a\nb\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, DISPLAY);
    REFUSE("{\x0b\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, DISPLAY);
    REFUSE("{\"a\":{\"dtype\":\"U8\",\x1f\"shape\":[1],\"data_offsets\":[0,1]}}", 1, DISPLAY);
    /* the other side: the four JSON whitespace bytes are fine */
    st_close(accept_header("{ \t\r\n\"a\" :\n{\"dtype\":\"U8\",\t\"shape\":[ 1 ],\r\"data_offsets\":[0,1]}\n}", 1));
}

static void test_shape_leading_zero(void **state)
{
    (void)state;
    /* 01 is not JSON (the reference refuses it; cJSON reads 1); -0 is JSON
     * but not an integer in 0..2^53 */
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[01],\"data_offsets\":[0,1]}}", 1, "tensor 'w'",
           "not valid JSON at byte 28 (at w.shape[0]): number with a leading zero");
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[-0],\"data_offsets\":[0,0]}}", 0, "tensor 'w'",
           "shape[0]", "is not an integer in 0..2^53");
}

static void test_nesting_boundary(void **state)
{
    (void)state;
    /* ST_MAX_JSON_DEPTH levels (root > tensor > shape > value) pass the
     * depth check; [[1]] is then refused as a shape value. One more level is
     * refused as nesting. */
    char err[ST_ERR_LEN];
    const char *hdr = "{\"w\":{\"dtype\":\"U8\",\"shape\":[[1]],\"data_offsets\":[0,1]}}";
    write_st(hdr, strlen(hdr), NULL, 1);
    open_refused(err, sizeof err, PHRASES("tensor 'w'", "shape[0]"));
    assert_lacks(err, "nests deeper");
    REFUSE("{\"w\":{\"dtype\":\"U8\",\"shape\":[[[1]]],\"data_offsets\":[0,1]}}", 1,
           "nests deeper than");
}

static void test_long_names_in_messages(void **state)
{
    (void)state;
    /* a long name is shortened in the message, which stays one valid UTF-8
     * line within ST_ERR_LEN (check_message) and keeps the fault */
    enum { REPEAT = 3000 };
    char *hdr = malloc(REPEAT * 2 + 128);
    assert_non_null(hdr);
    size_t n = 0;
    hdr[n++] = '{';
    hdr[n++] = '"';
    for (int i = 0; i < REPEAT; i++) {
        hdr[n++] = '\xc3'; /* é */
        hdr[n++] = '\xa9';
    }
    const char *tail = "\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    memcpy(hdr + n, tail, strlen(tail));
    n += strlen(tail);
    refuse_header(hdr, n, 1, PHRASES("tensor '\xc3\xa9\xc3\xa9"));
    free(hdr);
}

static void test_truncated_after_open(void **state)
{
    (void)state;
    size_t n = write_valid();
    st_file *f = open_ok();
    char err[ST_ERR_LEN] = "";

    /* cut the file in the middle of zeta.weight, [0, 12) */
    int fd = open(g_path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)(8 + n + 6)), 0);
    assert_int_equal(close(fd), 0);

    unsigned char buf[12];
    /* bytes still there read fine */
    assert_int_equal(st_read(f, find_ok(f, "zeta.weight"), 0, buf, 6, err, sizeof err), 0);

    memset(err, 0, sizeof err);
    assert_int_equal(st_read(f, find_ok(f, "zeta.weight"), 0, buf, 12, err, sizeof err), -1);
    check_message(err, PHRASES("tensor 'zeta.weight'", "file ended early"));

    /* a tensor wholly past the new end */
    memset(err, 0, sizeof err);
    assert_int_equal(st_read(f, find_ok(f, "alpha.bias"), 0, buf, 4, err, sizeof err), -1);
    check_message(err, PHRASES("tensor 'alpha.bias'", "file ended early"));
    st_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* accepted */
        cmocka_unit_test(test_valid_two_tensors),
        cmocka_unit_test(test_valid_read_round_trips),
        cmocka_unit_test(test_read_outside_tensor_refused),
        cmocka_unit_test(test_valid_scalar),
        cmocka_unit_test(test_valid_zero_size),
        cmocka_unit_test(test_valid_f8_e8m0),
        cmocka_unit_test(test_valid_empty_header),
        cmocka_unit_test(test_valid_sort_is_bytewise),
        cmocka_unit_test(test_valid_utf8_names),
        cmocka_unit_test(test_valid_rank16),
        cmocka_unit_test(test_valid_trailing_spaces),
        cmocka_unit_test(test_valid_metadata_empty_and_many),
        cmocka_unit_test(test_f4_whole_bytes),
        cmocka_unit_test(test_valid_large_offsets),
        cmocka_unit_test(test_display_null_uses_path),
        cmocka_unit_test(test_close_null),
        cmocka_unit_test(test_err_buffer_small),
        cmocka_unit_test(test_missing_file),
        /* the file and its header length */
        cmocka_unit_test(test_short_file_empty),
        cmocka_unit_test(test_short_file_7_bytes),
        cmocka_unit_test(test_eight_bytes_zero_header),
        cmocka_unit_test(test_header_len_exceeds_file),
        cmocka_unit_test(test_header_len_at_limit),
        cmocka_unit_test(test_header_len_over_limit),
        cmocka_unit_test(test_header_len_wraps),
        /* bytes, UTF-8, JSON syntax */
        cmocka_unit_test(test_utf8_invalid_continuation),
        cmocka_unit_test(test_utf8_overlong),
        cmocka_unit_test(test_utf8_other_invalid),
        cmocka_unit_test(test_utf8_bom_refused),
        cmocka_unit_test(test_raw_nul_byte),
        cmocka_unit_test(test_escaped_nul_in_name),
        cmocka_unit_test(test_invalid_json),
        cmocka_unit_test(test_trailing_garbage),
        cmocka_unit_test(test_root_not_object),
        cmocka_unit_test(test_nesting_too_deep),
        cmocka_unit_test(test_nesting_extreme),
        /* tensor entries */
        cmocka_unit_test(test_entry_not_object),
        cmocka_unit_test(test_unknown_dtype),
        cmocka_unit_test(test_dtype_wrong_case),
        cmocka_unit_test(test_dtype_not_string),
        cmocka_unit_test(test_missing_dtype),
        cmocka_unit_test(test_missing_shape),
        cmocka_unit_test(test_missing_data_offsets),
        cmocka_unit_test(test_shape_negative),
        cmocka_unit_test(test_shape_fraction),
        cmocka_unit_test(test_shape_exponent),
        cmocka_unit_test(test_shape_above_2_53),
        cmocka_unit_test(test_shape_2_53_reaches_length_check),
        cmocka_unit_test(test_shape_string),
        cmocka_unit_test(test_shape_not_array),
        cmocka_unit_test(test_shape_product_overflow),
        cmocka_unit_test(test_byte_size_fits),
        cmocka_unit_test(test_byte_size_overflow),
        cmocka_unit_test(test_rank_17),
        /* offsets and the data buffer */
        cmocka_unit_test(test_offsets_end_before_begin),
        cmocka_unit_test(test_offsets_outside_buffer),
        cmocka_unit_test(test_offsets_huge),
        cmocka_unit_test(test_offsets_not_integer),
        cmocka_unit_test(test_tensors_overlap),
        cmocka_unit_test(test_length_differs),
        cmocka_unit_test(test_duplicate_names),
        cmocka_unit_test(test_duplicate_key_in_entry),
        cmocka_unit_test(test_hole_between),
        cmocka_unit_test(test_hole_at_end),
        cmocka_unit_test(test_hole_at_start),
        cmocka_unit_test(test_data_offsets_three),
        cmocka_unit_test(test_data_offsets_other_shapes),
        cmocka_unit_test(test_metadata_non_string),
        cmocka_unit_test(test_metadata_not_object),
        cmocka_unit_test(test_metadata_null_is_none),
        cmocka_unit_test(test_metadata_nul),
        cmocka_unit_test(test_names_escaped_in_messages),
        cmocka_unit_test(test_control_bytes_in_json),
        cmocka_unit_test(test_shape_leading_zero),
        cmocka_unit_test(test_nesting_boundary),
        cmocka_unit_test(test_long_names_in_messages),
        cmocka_unit_test(test_truncated_after_open),
    };
    return cmocka_run_group_tests_name("safetensors", tests, group_setup, group_teardown);
}

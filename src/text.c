#include "text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unictype.h>
#include <unistr.h>

#include "util.h"

/* Length of the well-formed UTF-8 sequence at s[0..len), or 0 when it is not
 * one (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_sequence_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;      /* overlong */
        if (c == 0xED) hi = 0x9F;      /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;      /* overlong */
        if (c == 0xF4) hi = 0x8F;      /* above U+10FFFF */
    } else
        return 0;
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

size_t text_utf8_valid_prefix(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_sequence_len(p + i, len - i);
        if (n == 0)
            break;
        i += n;
    }
    return i;
}

bool text_utf8_valid(const char *s, size_t len)
{
    return text_utf8_valid_prefix(s, len) == len;
}

/* The code point of the well-formed n-byte sequence at p when it is hidden
 * (text.h), else 0. C1 controls (U+0080..U+009F) move the cursor on some
 * terminals just as C0 controls do; format characters (Cf: bidi controls,
 * zero-width spaces and joiners, U+FEFF, the soft hyphen, tag characters),
 * the line and paragraph separators and the other default-ignorable code
 * points (variation selectors, fillers) show as nothing or reorder what is
 * shown around them, so a name could display as another. libunistring's
 * tables follow the Unicode version it was built with. */
static uint32_t hidden_char(const unsigned char *p, size_t n)
{
    ucs4_t cp;
    if (n < 2 || u8_mbtouc(&cp, p, n) != (int)n)
        return 0;
    bool hidden = uc_is_general_category(cp, UC_CATEGORY_Cc) ||
                  uc_is_general_category(cp, UC_CATEGORY_Cf) ||
                  uc_is_general_category(cp, UC_CATEGORY_Zl) ||
                  uc_is_general_category(cp, UC_CATEGORY_Zp) ||
                  uc_is_property_default_ignorable_code_point(cp);
    return hidden ? (uint32_t)cp : 0;
}

char *text_escape_n(const char *s, size_t len, char *out, size_t outlen)
{
    static const char ellipsis[] = "...";
    if (outlen == 0)
        return out;
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        char piece[16];
        size_t plen;
        size_t n = p[i] < 0x80 ? 1 : utf8_sequence_len(p + i, len - i);
        if (n == 0 || hidden_char(p + i, n)) {
            /* byte by byte: the bytes after the first are then lone
             * continuation bytes, escaped as invalid UTF-8 */
            plen = (size_t)snprintf(piece, sizeof piece, "\\x%02X", p[i]);
            n = 1;
        } else if (p[i] == '\\') {
            plen = (size_t)snprintf(piece, sizeof piece, "\\\\");
        } else if (p[i] == '\n') {
            plen = (size_t)snprintf(piece, sizeof piece, "\\n");
        } else if (p[i] == '\t') {
            plen = (size_t)snprintf(piece, sizeof piece, "\\t");
        } else if (p[i] < 0x20 || p[i] == 0x7F) {
            plen = (size_t)snprintf(piece, sizeof piece, "\\x%02X", p[i]);
        } else {
            memcpy(piece, p + i, n);
            plen = n;
        }
        if (o + plen + 1 > outlen) {
            /* truncate on a piece boundary so no half sequence is emitted */
            size_t keep = outlen > sizeof ellipsis ? outlen - sizeof ellipsis : 0;
            if (o > keep) { /* cut back inside what was written, never mid-sequence */
                o = keep;
                while (o > 0 && ((unsigned char)out[o] & 0xC0) == 0x80)
                    o--;
            }
            size_t room = outlen - 1 - o;
            size_t e = room < 3 ? room : 3;
            memcpy(out + o, ellipsis, e);
            out[o + e] = '\0';
            return out;
        }
        memcpy(out + o, piece, plen);
        o += plen;
        i += n;
    }
    out[o] = '\0';
    return out;
}

char *text_escape(const char *s, char *out, size_t outlen)
{
    return text_escape_n(s, strlen(s), out, outlen);
}

char *text_escape_dup(const char *s)
{
    size_t len = strlen(s);
    size_t cap = len * 4 + 1; /* worst case: every byte becomes \xNN */
    return text_escape_n(s, len, xmalloc(cap), cap);
}

cJSON *text_json_string(const char *s)
{
    if (!s)
        return cJSON_CreateNull();
    if (text_utf8_valid(s, strlen(s)))
        return cJSON_CreateString(s);
    char *e = text_escape_dup(s);
    cJSON *j = cJSON_CreateString(e);
    free(e);
    return j;
}

char *text_json_escape_controls(const char *json)
{
    const unsigned char *p = (const unsigned char *)json;
    size_t len = strlen(json), o = 0, cap = len * 6 + 1; /* worst: DEL becomes \u007F */
    char *out = xmalloc(cap);
    for (size_t i = 0; i < len;) {
        size_t n = p[i] < 0x80 ? 1 : utf8_sequence_len(p + i, len - i);
        n = n ? n : 1; /* invalid UTF-8 (not from cJSON) passes as it came */
        uint32_t cp = p[i] == 0x7F ? 0x7F : hidden_char(p + i, n);
        if (cp > 0xFFFF) { /* JSON spells a code point past the BMP as a surrogate pair */
            uint32_t v = cp - 0x10000;
            o += (size_t)snprintf(out + o, cap - o, "\\u%04X\\u%04X", (unsigned)(0xD800 + (v >> 10)),
                                  (unsigned)(0xDC00 + (v & 0x3FF)));
        } else if (cp) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04X", (unsigned)cp);
        } else {
            memcpy(out + o, p + i, n);
            o += n;
        }
        i += n;
    }
    out[o] = '\0';
    return out;
}

void text_side_error(char *err, size_t errlen, const char *side, const char *path, const char *why)
{
    char shown[256];
    char *copy = xstrdup(why); /* why may live in err */
    snprintf(err, errlen, "%s '%s': %s", side, text_escape(path, shown, sizeof shown), copy);
    free(copy);
}

char *text_shape(const uint64_t *shape, int rank, char *out, size_t outlen)
{
    size_t o = 0;
    if (outlen == 0)
        return out;
    o += (size_t)snprintf(out, outlen, "[");
    for (int i = 0; i < rank && o < outlen; i++)
        o += (size_t)snprintf(out + o, outlen - o, "%s%llu", i ? ", " : "",
                              (unsigned long long)shape[i]);
    if (o < outlen)
        snprintf(out + o, outlen - o, "]");
    return out;
}

char *text_bytes(uint64_t bytes, char *out, size_t outlen)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1000.0 && u < 5) {
        v /= 1000.0;
        u++;
    }
    if (u == 0)
        snprintf(out, outlen, "%llu B", (unsigned long long)bytes);
    else
        snprintf(out, outlen, "%.2f %s", v, units[u]);
    return out;
}

int text_terminal_columns(int fd)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *env = getenv("COLUMNS");
    char *end;
    long v = env ? strtol(env, &end, 10) : 0;
    return env && *env && *end == '\0' && v >= 20 && v <= 1000 ? (int)v : 80;
}

#include "text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

bool text_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_sequence_len(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

/* C1 controls (U+0080..U+009F) are two bytes, C2 80..C2 9F, and move the
 * cursor on some terminals just as C0 controls do. */
static bool is_c1_control(const unsigned char *p, size_t n)
{
    return n == 2 && p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F;
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
        if (n == 0 || is_c1_control(p + i, n)) {
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
    char *out = malloc(cap);
    return out ? text_escape_n(s, len, out, cap) : NULL;
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

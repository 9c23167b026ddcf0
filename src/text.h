/* text.h - untrusted text: UTF-8 validation and escaping for display.
 *
 * Every name that comes from a file goes through text_escape before it
 * reaches a terminal, the TUI or a report: control characters and invalid
 * UTF-8 become visible escapes, so a tensor name cannot move the cursor. */
#ifndef MXC_TEXT_H
#define MXC_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or code
 * points above U+10FFFF). NUL bytes are valid UTF-8; callers reject them. */
bool text_utf8_valid(const char *s, size_t len);

/* Writes an escaped copy of s[0..len) into out (always NUL-terminated when
 * outlen > 0, truncated with "..." if it does not fit): C0/C1 controls and DEL
 * as \xNN (\n, \t as such), a backslash as \\, invalid UTF-8 bytes as \xNN.
 * Returns out. */
char *text_escape_n(const char *s, size_t len, char *out, size_t outlen);

/* text_escape_n for a NUL-terminated string. */
char *text_escape(const char *s, char *out, size_t outlen);

/* Newly allocated escaped copy of s (caller frees); NULL on allocation failure. */
char *text_escape_dup(const char *s);

/* "[3, 192, 320]" into out; returns out. */
char *text_shape(const uint64_t *shape, int rank, char *out, size_t outlen);

/* Human-readable size ("1.76 MB", "512 B", decimal units); returns out. */
char *text_bytes(uint64_t bytes, char *out, size_t outlen);

#endif

/* text.h - untrusted text: UTF-8 validation and escaping for display.
 *
 * Every name that comes from a file goes through text_escape before it
 * reaches a terminal, the TUI or a report: control characters and invalid
 * UTF-8 become visible escapes, so a tensor name cannot move the cursor.
 * "Hidden characters" below are valid UTF-8 that a terminal or an editor
 * acts on or shows as nothing: the C1 controls U+0080..U+009F, the format
 * characters (Unicode category Cf: the bidi controls that reorder the text
 * around them, CVE-2021-42574 "Trojan Source"; U+200B..U+200D, U+2060,
 * U+FEFF, U+00AD, U+FFF9..U+FFFB, the tag characters U+E0000..U+E007F), the
 * separators U+2028 and U+2029, and every other default-ignorable code point
 * (variation selectors, Hangul fillers): `q_proj\u200b.weight` must not look
 * like `q_proj.weight`. */
#ifndef MXC_TEXT_H
#define MXC_TEXT_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or code
 * points above U+10FFFF). NUL bytes are valid UTF-8; callers reject them. */
bool text_utf8_valid(const char *s, size_t len);

/* Length of the longest well-formed UTF-8 prefix of s[0..len): the offset of
 * the first invalid byte, or len. */
size_t text_utf8_valid_prefix(const char *s, size_t len);

/* Writes an escaped copy of s[0..len) into out (always NUL-terminated when
 * outlen > 0, truncated with "..." if it does not fit): C0 controls and DEL
 * as \xNN (\n, \t as such), a backslash as \\, invalid UTF-8 bytes as \xNN,
 * and each hidden character as the \xNN of each of its UTF-8 bytes (U+009B
 * is "\xC2\x9B", U+202E is "\xE2\x80\xAE"): one visible form for every byte
 * that must not reach a terminal raw. Returns out. At most 4 bytes of output
 * per byte of input, plus the NUL. */
char *text_escape_n(const char *s, size_t len, char *out, size_t outlen);

/* text_escape_n for a NUL-terminated string. */
char *text_escape(const char *s, char *out, size_t outlen);

/* Newly allocated escaped copy of s, never truncated (caller frees). */
char *text_escape_dup(const char *s);

/* A cJSON string for untrusted text: s itself when it is valid UTF-8, else
 * its text_escape form (JSON text must be UTF-8; names from files were
 * validated by the parsers, paths from the command line were not). NULL
 * gives a JSON null. Hidden characters are kept here: the tree holds the real
 * name, and text_json_escape_controls hides them when the tree is printed. */
cJSON *text_json_string(const char *s);

/* A copy of `json`, text printed by cJSON, with every hidden character and DEL
 * written as a \uXXXX escape (a surrogate pair past U+FFFF) (caller frees). cJSON escapes only characters
 * below U+0020; it prints everything else raw. The rewrite is safe because
 * cJSON's output holds non-ASCII bytes and DEL only inside strings, where
 * \uXXXX reads back as the same character: a JSON parser sees the same
 * document, a terminal or an editor showing it sees no raw controls. */
char *text_json_escape_controls(const char *json);

/* The message of a fault in one checkpoint of a verify, written the same
 * way everywhere: "SIDE 'PATH': WHY" (side "SRC" or "DST", path escaped;
 * why already escaped by whoever wrote it). */
void text_side_error(char *err, size_t errlen, const char *side, const char *path, const char *why);

/* "[3, 192, 320]" into out; returns out. */
char *text_shape(const uint64_t *shape, int rank, char *out, size_t outlen);

/* Human-readable size ("1.76 MB", "512 B", decimal units); returns out. */
char *text_bytes(uint64_t bytes, char *out, size_t outlen);

/* The width of the terminal on fd; when fd is not a terminal, COLUMNS when
 * it is a number from 20 to 1000, else 80. */
int text_terminal_columns(int fd);

#endif

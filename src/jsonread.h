/* jsonread.h - the one reader of untrusted JSON: safetensors headers, the
 * index, config.json and reports read back.
 *
 * cJSON is laxer than JSON (SPEC §1, Traps): it decodes a \u escape that is
 * not four hex digits into a NUL, parses numbers with strtod (01, 1., -.5 and
 * 1e999 pass), keeps duplicate members and cuts strings at \u0000. So the
 * whole text is first checked against RFC 8259's grammar here - every escape
 * and every number, in fields that are used and in fields that are ignored -
 * with a bound on nesting and these rules of ours on top, before cJSON sees a
 * byte:
 *   - the text is UTF-8 and holds no NUL byte, raw or escaped (\u0000);
 *   - surrogate escapes come in valid pairs;
 *   - a number is finite as a double (1e999 is refused, as the Rust
 *     reference does) and at most JSONREAD_MAX_NUMBER_LEN characters long;
 *   - no object has two members of the same name, at any level (Python keeps
 *     the last, cJSON and our lookups the first: a loader and this tool would
 *     read different files).
 * Integers are read exactly from their spelling (jsonread_integer), never
 * through a double.
 *
 * The tool never sets LC_NUMERIC (the TUI sets LC_CTYPE only), so the strtod
 * used for the range check reads '.' as the decimal point. */
#ifndef MXC_JSONREAD_H
#define MXC_JSONREAD_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONREAD_MAX_FILE_BYTES (100u * 1000u * 1000u) /* index, config, report */
#define JSONREAD_FILE_DEPTH 64       /* configs nest a few levels; cJSON recurses */
#define JSONREAD_MAX_NUMBER_LEN 63   /* cJSON reads at most 63 characters of a number */
#define JSONREAD_MAX_INTEGER ((uint64_t)1 << 53) /* exact in a double; >= schema 2^48-1 */
#define JSONREAD_WHERE_LEN 200

/* Where and why a text was refused. `where` is the member path of the fault
 * ("quantization_config.modules_to_not_convert[2]"), escaped for display, ""
 * at the top level; `member` the top-level member's name alone (escaped; ""
 * when the fault is not inside one), so a safetensors header can name the
 * tensor. `what` says what is wrong. */
typedef enum {
    JSONREAD_SYNTAX,     /* grammar, UTF-8, NUL, nesting, number range */
    JSONREAD_DUPLICATE,  /* two members of one name in an object */
    JSONREAD_NOT_OBJECT, /* jsonread_each_member: the value is no object */
} jsonread_fault;

typedef struct {
    jsonread_fault fault;
    size_t offset;              /* byte of the fault in the text */
    unsigned long line, column; /* 1-based */
    char where[JSONREAD_WHERE_LEN];
    char member[JSONREAD_WHERE_LEN];
    char what[160];
} jsonread_error;

/* Checks text[0..len) as described above, with containers nested at most
 * max_depth deep ({"a":[1]} is 2 deep). Duplicate members are not checked here
 * (they need the decoded names): jsonread_parse and jsonread_each_member do
 * that. Memory used is independent of len. */
bool jsonread_check(const char *text, size_t len, int max_depth, jsonread_error *e);

/* jsonread_check, then the tree (caller frees with cJSON_Delete), with
 * duplicate members refused at every level. NULL with e filled otherwise. */
cJSON *jsonread_parse(const char *text, size_t len, int max_depth, jsonread_error *e);

/* For a large object (a safetensors header of a million tensors), one member
 * at a time instead of one tree: checks the text, requires an object, and
 * calls fn for each top-level member in document order with its decoded name
 * and its value as a tree of its own (freed when fn returns). Duplicate
 * members are refused inside each value; duplicate top-level names are the
 * caller's to find (it keeps the names anyway). Returns 0, fn's first nonzero
 * return, or -1 with e filled when the text is refused (e->what is "not a
 * JSON object" and fault JSONREAD_NOT_OBJECT when the top-level value is
 * something else). */
typedef int (*jsonread_member_fn)(const char *name, cJSON *value, void *ctx);
int jsonread_each_member(const char *text, size_t len, int max_depth, jsonread_member_fn fn,
                         void *ctx, jsonread_error *e);

/* jsonread_each_member, and for members whose value is an array and for
 * which streams(name) says so, element by element: member(name, NULL)
 * first, then element(name, index, tree) for each, so that a report of a
 * million tensors is never one tree. member and element return 0 to go on. */
typedef struct {
    jsonread_member_fn member;
    bool (*streams)(const char *name, void *ctx);
    int (*element)(const char *name, size_t index, cJSON *value, void *ctx);
} jsonread_walk;

int jsonread_walk_members(const char *text, size_t len, int max_depth, const jsonread_walk *w, void *ctx,
                          jsonread_error *e);

/* The value of a number node of a tree made here, when its spelling is a
 * plain non-negative integer (digits only) of at most JSONREAD_MAX_INTEGER:
 * "1e3", "1.0", "-0" and 2^53 + 1 are not. */
bool jsonread_integer(const cJSON *node, uint64_t *out);

/* The whole text of a regular file of at most max_bytes (NUL-terminated, for
 * the parser's sake; caller frees). Returns 0, or -1 with err "DISPLAY:
 * fault". */
int jsonread_read_file(const char *path, const char *display, uint64_t max_bytes, char **text, size_t *len,
                       char *err, size_t errlen);

/* Reads and parses a whole file (at most JSONREAD_MAX_FILE_BYTES, a regular
 * file, depth JSONREAD_FILE_DEPTH). `display` names it in err, as
 * "DISPLAY: not valid JSON at line L, column C (at WHERE): WHAT". Returns the
 * tree or NULL with err set. */
cJSON *jsonread_load(const char *path, const char *display, char *err, size_t errlen);

/* The message of e for a file shown as display: "DISPLAY: not valid JSON at
 * line L, column C[ (at WHERE)]: WHAT", "DISPLAY: duplicate member "K" (at
 * WHERE)" or "DISPLAY: not a JSON object". */
void jsonread_format_error(const jsonread_error *e, const char *display, char *err,
                           size_t errlen);

#endif

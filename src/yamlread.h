/* yamlread.h - the one reader of YAML (rule files): the only module that
 * includes <yaml.h>.
 *
 * libyaml 0.2.5 parses; this module builds the tree from its event stream
 * (never yaml_parser_load), so every limit below is applied while the events
 * arrive and parsing stops at the first fault, before anything past it is
 * built. libyaml has no nesting limit and accepts duplicate keys; both are
 * refused here. Its parser and scanner do not recurse (measured: 20000
 * nested flow sequences parse on a 64 KiB stack), but a deep flow collection
 * costs it time quadratic in the depth, so stopping at YR_MAX_DEPTH + 1
 * levels is what keeps a 1 MiB "[[[[..." fast; no pre-scan is needed.
 *
 * Refused, each with "DISPLAY:LINE:COL: message" (1-based; columns count
 * characters, as libyaml's marks do, not bytes):
 *   - text that is not UTF-8 ("not valid UTF-8 (byte 0xFF)"), a NUL byte
 *     ("NUL byte"), a character YAML does not allow in a stream ("control
 *     character U+0007"), a NUL from an escape ("NUL character in a scalar");
 *   - libyaml's own faults: its problem text, and where it gives one its
 *     context ("did not find expected key (while parsing a block mapping at
 *     line 1, column 1)");
 *   - a second document ("more than one document");
 *   - a collection nested deeper than YR_MAX_DEPTH, counted with aliases
 *     expanded ("nesting deeper than 32 levels", "... (through alias '*a')");
 *   - a mapping key that is not a scalar ("mapping key is not a scalar"),
 *     the YAML 1.1 merge key (plain "<<": "merge key '<<' is not supported"),
 *     a key twice in one mapping, scalar keys compared by value whatever
 *     their quoting, positioned at the second: "duplicate key 'id' (first at
 *     line 3, column 5)";
 *   - an anchor defined twice ("duplicate anchor '&a' (first at line 1,
 *     column 4)"), an alias to no anchor ("alias '*x' refers to an undefined
 *     anchor"), an alias inside the node it names ("alias '*a' refers to its
 *     own ancestor"), more than YR_MAX_ALIASES alias uses ("more than 64
 *     aliases"), more than YR_MAX_NODES nodes with every alias expanded
 *     ("more than 100000 nodes with aliases expanded": a billion-laughs file
 *     stops at the alias that crosses it);
 *   - any tag but !!str !!int !!float !!bool !!null !!seq !!map ("tag
 *     '!!python/object' is not allowed (only !!str, !!int, !!float, !!bool,
 *     !!null, !!seq, !!map)"), one on the wrong kind of node ("tag '!!seq'
 *     on a mapping"), a scalar whose text is not of its tag's type in the
 *     YAML 1.2 core schema ("'abc' is not a !!int").
 * File-level faults read "DISPLAY: message": "cannot open: <strerror>", "not
 * a regular file", "larger than 1048576 bytes (N bytes)", a read fault.
 * DISPLAY, keys and anchors are shown through text_escape.
 *
 * Scalars are handed over as text: the caller resolves null/true/1.5, and
 * escapes for display (a value may hold any character but NUL). */
#ifndef MXC_YAMLREAD_H
#define MXC_YAMLREAD_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { YR_SCALAR, YR_SEQ, YR_MAP } yr_kind;
typedef struct yr_node yr_node;
struct yr_node {
    yr_kind kind;
    unsigned long line, column;  /* 1-based position of the node's first character: its
                                  * anchor or tag when it has one */
    const char *value;           /* YR_SCALAR: the text, UTF-8, no NUL (NUL-terminated);
                                  * NULL for collections */
    bool plain;                  /* YR_SCALAR: unquoted and untagged (so the caller may read
                                  * null/true/1.5), or tagged !!int, !!float, !!bool or !!null
                                  * (then the text is of that type); false when quoted, a
                                  * block scalar (| >) or tagged !!str */
    size_t count;                /* YR_SEQ: items; YR_MAP: pairs */
    yr_node **items;             /* YR_SEQ: items[i]; YR_MAP: key items[2i], value items[2i+1]
                                  * (keys are YR_SCALAR, pairwise distinct, in file order);
                                  * an alias is the anchored node itself, shared: a DAG,
                                  * whose positions are the anchored node's */
};
typedef struct yr_doc yr_doc;
#define YR_MAX_FILE_BYTES (1u << 20)
#define YR_MAX_DEPTH 32           /* collections on a path, the root one included: a
                                   * collection inside 31 others is the deepest allowed */
#define YR_MAX_ALIASES 64         /* alias uses per file */
#define YR_MAX_NODES 100000       /* nodes of the document with every alias expanded */
#define YR_ERR_LEN 512
/* Reads and parses one YAML document. err: "DISPLAY:LINE:COL: message".
 * yr_load reads the file at path (a regular file of at most
 * YR_MAX_FILE_BYTES); yr_parse reads text[0..len), which need not be
 * NUL-terminated. Return 0 with *out the document (caller frees with
 * yr_free), or -1 with *out NULL and err set (errlen > 0). Nodes live as
 * long as their document. */
int yr_load(const char *path, const char *display, yr_doc **out, char *err, size_t errlen);
int yr_parse(const char *text, size_t len, const char *display, yr_doc **out, char *err, size_t errlen);
const yr_node *yr_root(const yr_doc *d);   /* never NULL for a loaded doc; an empty file is an empty
                                            * YR_MAP at 1:1 (as is one of comments only, or a
                                            * document of no content: "---" alone) */
/* A map's value for a key (scalar key compared exactly), or NULL (also when
 * map is NULL or not a YR_MAP). */
const yr_node *yr_get(const yr_node *map, const char *key);
void yr_free(yr_doc *d);                    /* NULL is a no-op */

#endif

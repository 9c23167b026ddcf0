/* tui.h - what the views of the browser share: the view table, drawing
 * helpers and the list cursor.
 *
 * As in ncdu, each view is one file owning its state as file statics, with
 * a draw function (the body between the title bar and the status line) and a
 * key function (true when it used the key). loop.c asks the current view to
 * draw, reads a key, and hands it on; keys a view leaves go to the loop
 * (views 1-5, Tab, ?, m, q, v, x). Only tui/ includes <curses.h>; only
 * model.c includes src/ headers. */
#ifndef MXC_TUI_H
#define MXC_TUI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef enum {
    VIEW_SHARDS, VIEW_TREE, VIEW_TENSOR, VIEW_FINDINGS, VIEW_POLICY, /* 1-5, Tab */
    VIEW_HELP, VIEW_META,
    VIEW_COUNT
} view_id;

typedef struct {
    const char *title;
    void (*draw)(int top, int rows);      /* body rows [top, top + rows) */
    bool (*key)(int ch);
    /* Moves to the next (dir 1) or previous (-1) row matching mm, after the
     * cursor, or at it when `here`; false when none. NULL: no search. */
    bool (*find)(model_matcher *mm, int dir, bool here);
    const char *hint;                     /* the view's own keys, for the status line */
} tui_view;

extern const tui_view view_shards, view_tree, view_tensor, view_findings, view_policy, view_help,
    view_meta;

/* ---- what every view reads ------------------------------------------------ */

typedef struct {
    tui_model *model;
    bool ascii;   /* no block characters: --ascii or a locale that is not UTF-8 */
    bool color;   /* colours: a terminal that has them, and NO_COLOR unset */
} tui_state;

extern tui_state tui;

/* Makes view v current, remembering the one it replaces for `q` / back. */
void tui_open(view_id v);
/* Back to the previous view (false at the first). */
bool tui_back(void);
/* A message on the status line until the next key. */
void tui_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Views opened on a tensor: the detail, the policy, the weight map's
 * cursor. */
void tensor_view_show(size_t tensor);
void policy_view_show(size_t tensor);
void tree_view_reveal(size_t tensor);
/* The tensor under the cursor of the current view, or -1. */
ptrdiff_t tui_current_tensor(void);
ptrdiff_t tree_view_current(void);
ptrdiff_t tensor_view_current(void);
ptrdiff_t findings_view_current(void);
/* The report changed: counts and marks are summed again. */
void tree_view_model_changed(void);
/* The weight map restricted to one shard (flat), or all (-1). */
void tree_view_only_shard(ptrdiff_t shard);

/* ---- drawing ------------------------------------------------------------------- */

typedef enum {
    STYLE_NORMAL, STYLE_TITLE, STYLE_CURSOR, STYLE_DIM, STYLE_HEAD,
    STYLE_OK, STYLE_WARN, STYLE_FAIL, STYLE_QUANT, STYLE_KEPT,
    STYLE_COUNT
} tui_style;

/* Writes text at (y, x) in at most width columns, styled; untrusted text is
 * escaped first (text.h), so it cannot move the cursor; in ASCII mode every
 * byte past 0x7F is escaped too. Returns the columns used. */
int tui_put(int y, int x, int width, tui_style st, const char *text);
int tui_putf(int y, int x, int width, tui_style st, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* A column header or other text made of the program's own words: cut at
 * the right edge, never in the middle. */
int tui_headf(int y, int x, int width, tui_style st, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Raw text the program wrote itself (no escaping: block characters). */
int tui_put_trusted(int y, int x, int width, tui_style st, const char *text);
/* Fills row y from column x to the edge with spaces in style st. */
void tui_fill(int y, int x, tui_style st);
/* A horizontal bar of width cells for fraction f in [0, 1]: eighth blocks,
 * or '#' in ASCII mode. */
void tui_bar(int y, int x, int width, double f, tui_style st);

int tui_cols(void);
int tui_lines(void);

/* "1.76 MB" and friends (decimal units). */
char *tui_bytes(uint64_t n, char *out, size_t outlen);
/* "[3, 160, 192]" */
char *tui_shape(const uint64_t *shape, int rank, char *out, size_t outlen);
/* A statistic: "-" for NaN. */
char *tui_num(double v, char *out, size_t outlen);

/* ---- lists --------------------------------------------------------------------- */

/* A cursor over n rows of which `rows` are shown. */
typedef struct {
    size_t cursor, top, n;
} tui_list;

/* Moves the cursor for the keys of less/vi (arrows, j/k, PgUp/PgDn, Space,
 * g/G, Home/End); true when ch was one of them. */
bool list_key(tui_list *l, int ch, int rows);
/* Keeps the cursor inside [0, n) and visible in rows. */
void list_fit(tui_list *l, int rows);

/* The same keys for a text of `lines` lines shown `rows` at a time from
 * *offset (the Tensor, Policy, Metadata and Help views); true when ch was one. */
bool scroll_key(int *offset, int ch, int lines, int rows);

/* Key codes the views share (curses' KEY_* are in loop.c and list.c only). */
bool tui_is_enter(int ch);
bool tui_is_back(int ch);

#endif

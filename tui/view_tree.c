/* view_tree.c - the weight map: every tensor of DST in a tree of its dotted
 * name, a layer number joined to its parent ("layers.23"), a chain of single
 * children shown as one row ("mlp.router" is not, "input_layernorm.weight"
 * is), browsed as ncdu browses directories. `t` flattens it into one list of
 * all tensors (to sort the whole checkpoint by rel_l2).
 *
 * Built once from the names (a hash of (parent, label)), so a header of
 * 100,000 tensors costs one pass; the counts per directory (quantized, kept,
 * failing, waived, bytes, worst rel_l2 and excess) are summed again when the
 * report changes. Labels point into the model's names: nothing is copied. */
#define _XOPEN_SOURCE 700
#define _XOPEN_SOURCE_EXTENDED 1
#include <curses.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui.h"

typedef struct {
    const char *label;     /* into a tensor name; not NUL-terminated */
    uint32_t len;
    int32_t parent;
    int32_t first, last, next; /* children while building */
    uint32_t kids, nkids;  /* children: kids_of[kids .. kids + nkids) */
    ptrdiff_t tensor;      /* a leaf's tensor, -1 for a directory */
    bool dead;             /* merged into its parent */
    uint32_t tensors, quantized, kept, failing, warned, waived;
    uint64_t bytes;
    double rel_l2, excess; /* the worst of the leaves below; NaN unknown */
} node;

typedef enum { SORT_NAME, SORT_BYTES, SORT_REL_L2, SORT_EXCESS, SORT_COUNT } sort_key;
typedef enum { FILTER_ALL, FILTER_QUANTIZED, FILTER_KEPT, FILTER_FAILING, FILTER_WAIVED, FILTER_COUNT } filter_key;

static const char *const sort_names[SORT_COUNT] = {"name", "bytes", "rel_l2", "excess"};
static const char *const filter_names[FILTER_COUNT] = {"all", "quantized", "kept", "failing", "waived"};

static node *nodes;
static size_t nnodes;
static int32_t *kids_of;
static int32_t *leaf_of;   /* per tensor */
static bool built;

static int32_t dir = 0;    /* the directory shown (tree mode) */
static bool flat;
static ptrdiff_t only_shard = -1;
static sort_key sort_by = SORT_NAME;
static bool reversed;
static filter_key filter_by = FILTER_ALL;
static int32_t *rows;
static size_t nrows, rows_cap;
static tui_list list;
static bool rows_stale = true;

/* ---- building ------------------------------------------------------------------ */

static uint64_t hash_key(int32_t parent, const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(uint32_t)parent * 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int32_t new_node(const char *label, size_t len, int32_t parent, ptrdiff_t tensor)
{
    node *n = &nodes[nnodes];
    memset(n, 0, sizeof *n);
    n->label = label;
    n->len = (uint32_t)len;
    n->parent = parent;
    n->first = n->last = n->next = -1;
    n->tensor = tensor;
    if (parent >= 0) { /* appended, so children keep the names' order */
        node *p = &nodes[parent];
        if (p->last >= 0)
            nodes[p->last].next = (int32_t)nnodes;
        else
            p->first = (int32_t)nnodes;
        p->last = (int32_t)nnodes;
    }
    return (int32_t)nnodes++;
}

/* The end of the segment starting at s: up to the next '.', a run of digits
 * after it joined on ("layers.23"). */
static const char *segment_end(const char *s)
{
    const char *e = strchr(s, '.');
    while (e) {
        const char *d = e + 1;
        while (isdigit((unsigned char)*d))
            d++;
        if (d == e + 1 || (*d != '.' && *d != '\0'))
            break;
        if (*d == '\0')
            return d;
        e = d;
    }
    return e ? e : s + strlen(s);
}

/* A single child is shown with its parent ("input_layernorm.weight"). Its
 * label follows the parent's in the name that made both. */
static void merge_single_children(void)
{
    for (size_t d = 1; d < nnodes; d++) {
        node *n = &nodes[d];
        while (!n->dead && n->tensor < 0 && n->first >= 0 && nodes[n->first].next < 0) {
            node *c = &nodes[n->first];
            n->len = (uint32_t)(c->label + c->len - n->label);
            n->tensor = c->tensor;
            n->first = c->first;
            n->last = c->last;
            c->dead = true;
            for (int32_t k = c->first; k >= 0; k = nodes[k].next)
                nodes[k].parent = (int32_t)d;
        }
    }
}

static void build_children(void)
{
    kids_of = malloc((nnodes ? nnodes : 1) * sizeof *kids_of);
    uint32_t at = 0;
    for (size_t d = 0; d < nnodes; d++) {
        node *n = &nodes[d];
        n->kids = at;
        n->nkids = 0;
        if (n->dead)
            continue;
        for (int32_t k = n->first; k >= 0; k = nodes[k].next)
            kids_of[at + n->nkids++] = k;
        at += n->nkids;
    }
}

static void build(void)
{
    tui_model *m = tui.model;
    size_t n = model_tensor_count(m), segments = 1;
    for (size_t i = 0; i < n; i++)
        for (const char *s = model_tensor_at(m, i)->name; *s; s++)
            segments += *s == '.';
    segments += n;
    nodes = malloc(segments * sizeof *nodes);
    leaf_of = malloc((n ? n : 1) * sizeof *leaf_of);
    size_t cap = 16;
    while (cap < 2 * segments)
        cap *= 2;
    int32_t *table = malloc(cap * sizeof *table);
    if (!nodes || !leaf_of || !table)
        abort(); /* out of memory, as util.h does */
    memset(table, 0xff, cap * sizeof *table);
    nnodes = 0;
    new_node("", 0, -1, -1);
    for (size_t i = 0; i < n; i++) {
        const char *name = model_tensor_at(m, i)->name, *s = name;
        int32_t parent = 0;
        for (;;) {
            const char *e = segment_end(s);
            if (*e == '\0') {
                leaf_of[i] = new_node(s, (size_t)(e - s), parent, (ptrdiff_t)i);
                break;
            }
            size_t len = (size_t)(e - s), slot = hash_key(parent, s, len) & (cap - 1);
            while (table[slot] >= 0) {
                node *c = &nodes[table[slot]];
                if (c->parent == parent && c->len == len && memcmp(c->label, s, len) == 0)
                    break;
                slot = (slot + 1) & (cap - 1);
            }
            if (table[slot] < 0)
                table[slot] = new_node(s, len, parent, -1);
            parent = table[slot];
            s = e + 1;
        }
    }
    free(table);
    merge_single_children();
    for (size_t i = 0; i < n; i++) /* a merged leaf lives on in its parent */
        while (nodes[leaf_of[i]].dead)
            leaf_of[i] = nodes[leaf_of[i]].parent;
    build_children();
    built = true;
}

static double worst(double a, double b)
{
    return isnan(a) ? b : isnan(b) ? a : a > b ? a : b;
}

/* Children come after their parents, so one backward pass sums them up. */
static void sum_up(void)
{
    for (size_t d = 0; d < nnodes; d++) {
        node *n = &nodes[d];
        n->tensors = n->quantized = n->kept = n->failing = n->warned = n->waived = 0;
        n->bytes = 0;
        n->rel_l2 = n->excess = NAN;
        if (n->dead || n->tensor < 0)
            continue;
        const model_tensor *t = model_tensor_at(tui.model, (size_t)n->tensor);
        n->tensors = 1;
        n->quantized = t->quantized;
        n->kept = !t->quantized;
        n->failing = t->status == MS_FAIL;
        n->warned = t->status == MS_WARN;
        n->waived = t->waived;
        n->bytes = t->bytes;
        n->rel_l2 = t->rel_l2;
        n->excess = t->excess;
    }
    for (size_t d = nnodes; d-- > 1;) {
        node *n = &nodes[d], *p = &nodes[n->parent];
        if (n->dead)
            continue;
        p->tensors += n->tensors;
        p->quantized += n->quantized;
        p->kept += n->kept;
        p->failing += n->failing;
        p->warned += n->warned;
        p->waived += n->waived;
        p->bytes += n->bytes;
        p->rel_l2 = worst(p->rel_l2, n->rel_l2);
        p->excess = worst(p->excess, n->excess);
    }
}

/* ---- rows --------------------------------------------------------------------- */

static bool passes(const node *n)
{
    if (only_shard >= 0 && (n->tensor < 0 || model_tensor_at(tui.model, (size_t)n->tensor)->shard != (size_t)only_shard))
        return false;
    switch (filter_by) {
    case FILTER_QUANTIZED: return n->quantized > 0;
    case FILTER_KEPT: return n->kept > 0;
    case FILTER_FAILING: return n->failing > 0;
    case FILTER_WAIVED: return n->waived > 0;
    default: return n->tensors > 0;
    }
}

/* Names as people count: "layers.2" before "layers.10". */
static int natural_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i = 0, j = 0;
    while (i < alen && j < blen) {
        if (isdigit((unsigned char)a[i]) && isdigit((unsigned char)b[j])) {
            size_t i0 = i, j0 = j;
            while (i0 < alen && a[i0] == '0')
                i0++;
            while (j0 < blen && b[j0] == '0')
                j0++;
            size_t i1 = i0, j1 = j0;
            while (i1 < alen && isdigit((unsigned char)a[i1]))
                i1++;
            while (j1 < blen && isdigit((unsigned char)b[j1]))
                j1++;
            if (i1 - i0 != j1 - j0)
                return i1 - i0 < j1 - j0 ? -1 : 1;
            int c = memcmp(a + i0, b + j0, i1 - i0);
            if (c)
                return c;
            i = i1;
            j = j1;
            continue;
        }
        if (a[i] != b[j])
            return (unsigned char)a[i] < (unsigned char)b[j] ? -1 : 1;
        i++;
        j++;
    }
    return (i < alen) - (j < blen);
}

static void row_label(const node *n, const char **s, size_t *len)
{
    if (flat && n->tensor >= 0) {
        *s = model_tensor_at(tui.model, (size_t)n->tensor)->name;
        *len = strlen(*s);
    } else {
        *s = n->label;
        *len = n->len;
    }
}

static int cmp_num(double a, double b) /* larger first, unknown last */
{
    if (isnan(a) || isnan(b))
        return isnan(a) - isnan(b);
    return a > b ? -1 : a < b ? 1 : 0;
}

static int cmp_rows(const void *pa, const void *pb)
{
    const node *a = &nodes[*(const int32_t *)pa], *b = &nodes[*(const int32_t *)pb];
    int c = 0;
    switch (sort_by) {
    case SORT_BYTES: c = a->bytes > b->bytes ? -1 : a->bytes < b->bytes ? 1 : 0; break;
    case SORT_REL_L2: c = cmp_num(a->rel_l2, b->rel_l2); break;
    case SORT_EXCESS: c = cmp_num(a->excess, b->excess); break;
    default: break;
    }
    if (c == 0) {
        const char *sa, *sb;
        size_t la, lb;
        row_label(a, &sa, &la);
        row_label(b, &sb, &lb);
        c = natural_cmp(sa, la, sb, lb);
    }
    return reversed ? -c : c;
}

static void add_row(int32_t k)
{
    if (nrows == rows_cap) {
        rows_cap = rows_cap ? 2 * rows_cap : 256;
        rows = realloc(rows, rows_cap * sizeof *rows);
        if (!rows)
            abort();
    }
    rows[nrows++] = k;
}

/* The rows of the directory (or of every tensor, flat), filtered and sorted;
 * the cursor stays on the node it was on. */
static void refresh_rows(void)
{
    if (!built)
        build();
    if (rows_stale)
        sum_up();
    rows_stale = false;
    int32_t was = list.cursor < nrows ? rows[list.cursor] : -1;
    nrows = 0;
    if (flat) {
        for (size_t i = 0; i < model_tensor_count(tui.model); i++)
            if (passes(&nodes[leaf_of[i]]) && (nrows == 0 || rows[nrows - 1] != leaf_of[i]))
                add_row(leaf_of[i]);
    } else {
        const node *d = &nodes[dir];
        for (uint32_t k = 0; k < d->nkids; k++)
            if (passes(&nodes[kids_of[d->kids + k]]))
                add_row(kids_of[d->kids + k]);
    }
    qsort(rows, nrows, sizeof *rows, cmp_rows);
    list.n = nrows;
    for (size_t r = 0; was >= 0 && r < nrows; r++)
        if (rows[r] == was)
            list.cursor = r;
}

/* ---- drawing ---------------------------------------------------------------- */

static void draw_path(int y)
{
    char path[1024];
    size_t o = 0;
    int32_t chain[64];
    int depth = 0;
    for (int32_t d = dir; d > 0 && depth < 64; d = nodes[d].parent)
        chain[depth++] = d;
    o += (size_t)snprintf(path + o, sizeof path - o, flat ? "all tensors" : "/");
    for (int k = depth - 1; !flat && k >= 0 && o < sizeof path; k--)
        o += (size_t)snprintf(path + o, sizeof path - o, "%.*s/", (int)nodes[chain[k]].len, nodes[chain[k]].label);
    if (only_shard >= 0 && o < sizeof path) {
        model_shard s;
        model_shard_at(tui.model, (size_t)only_shard, &s);
        snprintf(path + o, sizeof path - o, " in %s", s.file);
    }
    tui_fill(y, 0, STYLE_NORMAL);
    int x = tui_put(y, 0, tui_cols() - 44, STYLE_HEAD, path);
    tui_headf(y, x + 2, tui_cols() - x - 2, STYLE_NORMAL, "%zu rows  sort %s%s  filter %s", nrows,
             sort_names[sort_by], reversed ? " (reversed)" : "", filter_names[filter_by]);
}

static const char *status_mark(const node *n)
{
    if (n->failing)
        return "!";
    if (n->warned)
        return "~";
    if (n->waived)
        return "w";
    return " ";
}

static bool stat_columns; /* rel_l2 and excess, when a report or a comparison has numbers */

static void draw_row(int y, const node *n, bool sel, int name_w, int pat_w)
{
    tui_style base = sel ? STYLE_CURSOR : STYLE_NORMAL;
    tui_fill(y, 0, base);
    const char *mark = status_mark(n);
    tui_put_trusted(y, 0, 1, sel ? base : n->failing ? STYLE_FAIL : n->warned ? STYLE_WARN : STYLE_NORMAL, mark);
    const char *kind = n->quantized && n->kept ? "[*]" : n->quantized ? "[Q]" : "[K]";
    tui_put_trusted(y, 2, 3, sel ? base : n->quantized && !n->kept ? STYLE_QUANT : STYLE_KEPT, kind);
    const char *s;
    size_t len;
    row_label(n, &s, &len);
    char label[1024];
    snprintf(label, sizeof label, "%.*s%s", (int)len, s, n->tensor < 0 ? "/" : "");
    int x = 6;
    tui_put(y, x, name_w, base, label);
    x += name_w + 1;
    char b[32], r[32], e[32];
    tui_putf(y, x, 10, base, "%10s", tui_bytes(n->bytes, b, sizeof b));
    x += 11;
    if (stat_columns) {
        tui_putf(y, x, 8, base, "%8s", tui_num(n->rel_l2, r, sizeof r));
        x += 9;
        tui_putf(y, x, 7, base, "%7s", tui_num(n->excess, e, sizeof e));
        x += 8;
    }
    if (n->tensor < 0) {
        tui_putf(y, x, pat_w, base, "%u tensors, %uQ %uK", n->tensors, n->quantized, n->kept);
        return;
    }
    const model_tensor *t = model_tensor_at(tui.model, (size_t)n->tensor);
    if (t->pattern >= 0)
        tui_put(y, x, pat_w, base, model_pattern_at(tui.model, (size_t)t->pattern, NULL));
    else
        tui_put_trusted(y, x, pat_w, base, t->quantized ? "-" : "(no pattern)");
}

static void tree_draw(int top, int nrow)
{
    refresh_rows();
    draw_path(top);
    int cols = tui_cols();
    stat_columns = model_has_report(tui.model);
    int rest = cols - 6 - 11 - (stat_columns ? 17 : 0); /* name and pattern share what the numbers leave */
    int name_w = flat ? rest * 2 / 3 : rest / 2;
    if (name_w < 12)
        name_w = 12;
    int pat_w = rest - name_w - 1;
    int y = top + 1, body = nrow - 2;
    tui_fill(y, 0, STYLE_DIM);
    tui_put_trusted(y, 0, 6, STYLE_DIM, " KIND ");
    if (stat_columns)
        tui_headf(y, 6, cols - 6, STYLE_DIM, "%-*s %10s %8s %7s %s", name_w, "NAME", "BYTES", "REL_L2", "EXCESS",
                 "PATTERN (kept by)");
    else
        tui_headf(y, 6, cols - 6, STYLE_DIM, "%-*s %10s %s", name_w, "NAME", "BYTES", "PATTERN (kept by)");
    list_fit(&list, body);
    for (int r = 0; r < body && list.top + (size_t)r < nrows; r++)
        draw_row(y + 1 + r, &nodes[rows[list.top + (size_t)r]], list.top + (size_t)r == list.cursor, name_w, pat_w);
    if (nrows == 0)
        tui_put_trusted(y + 1, 2, cols - 2, STYLE_DIM, filter_by == FILTER_ALL ? "(no tensors)" : "(no tensor passes the filter: f changes it)");
}

/* ---- keys --------------------------------------------------------------------- */

static void enter_dir(int32_t d)
{
    dir = d;
    list.cursor = list.top = 0;
    nrows = 0;
    refresh_rows();
}

static void go_up(void)
{
    int32_t was = dir;
    enter_dir(nodes[dir].parent);
    for (size_t r = 0; r < nrows; r++)
        if (rows[r] == was)
            list.cursor = r;
}

static ptrdiff_t cursor_tensor(void)
{
    refresh_rows();
    if (list.cursor >= nrows)
        return -1;
    return nodes[rows[list.cursor]].tensor;
}

ptrdiff_t tree_view_current(void) { return cursor_tensor(); }

static bool tree_key(int ch)
{
    refresh_rows();
    int body = tui_lines() - 5;
    if (list_key(&list, ch, body))
        return true;
    if (tui_is_enter(ch)) {
        if (list.cursor >= nrows)
            return true;
        const node *n = &nodes[rows[list.cursor]];
        if (n->tensor >= 0)
            tensor_view_show((size_t)n->tensor);
        else
            enter_dir(rows[list.cursor]);
        return true;
    }
    if (tui_is_back(ch) && !flat && dir != 0) {
        go_up();
        return true;
    }
    switch (ch) {
    case 's':
        sort_by = (sort_key)((sort_by + 1) % SORT_COUNT);
        refresh_rows();
        tui_say("sort by %s%s", sort_names[sort_by], sort_by == SORT_NAME ? "" : " (largest first; S reverses)");
        return true;
    case 'S':
        reversed = !reversed;
        refresh_rows();
        return true;
    case 'f':
        filter_by = (filter_key)((filter_by + 1) % FILTER_COUNT);
        refresh_rows();
        tui_say("filter: %s%s", filter_names[filter_by],
                (filter_by == FILTER_FAILING || filter_by == FILTER_WAIVED) && !model_has_report(tui.model)
                    ? " (no report loaded: v runs a verify)" : "");
        return true;
    case 'F':
        filter_by = FILTER_ALL;
        only_shard = -1;
        refresh_rows();
        return true;
    case 't':
        flat = !flat;
        if (!flat)
            only_shard = -1;
        list.cursor = list.top = 0;
        nrows = 0;
        refresh_rows();
        return true;
    }
    return false;
}

void tree_view_only_shard(ptrdiff_t shard)
{
    only_shard = shard;
    flat = shard >= 0 ? true : flat;
    list.cursor = list.top = 0;
    nrows = 0;
    rows_stale = true;
    refresh_rows();
}

void tree_view_reveal(size_t tensor)
{
    refresh_rows();
    int32_t leaf = leaf_of[tensor];
    if (!flat && nodes[leaf].parent != dir)
        enter_dir(nodes[leaf].parent);
    for (size_t r = 0; r < nrows; r++)
        if (rows[r] == leaf)
            list.cursor = r;
}

void tree_view_model_changed(void)
{
    rows_stale = true;
}

static bool tree_find(model_matcher *mm, int step, bool here)
{
    refresh_rows();
    tui_model *m = tui.model;
    if (flat) { /* in the order shown */
        size_t n = nrows;
        for (size_t k = here ? 0 : 1; k <= n && n; k++) {
            size_t r = step > 0 ? (list.cursor + k) % n : (list.cursor + n - k % n) % n;
            if (model_matcher_test(mm, model_tensor_at(m, (size_t)nodes[rows[r]].tensor)->name)) {
                list.cursor = r;
                return true;
            }
        }
        return false;
    }
    size_t n = model_tensor_count(m);
    ptrdiff_t cur = cursor_tensor();
    size_t start = cur >= 0 ? (size_t)cur : 0;
    for (size_t k = here ? 0 : 1; k <= n && n; k++) {
        size_t i = step > 0 ? (start + k) % n : (start + n - k % n) % n;
        if (!model_matcher_test(mm, model_tensor_at(m, i)->name) || !passes(&nodes[leaf_of[i]]))
            continue;
        tree_view_reveal(i);
        return true;
    }
    return false;
}

const tui_view view_tree = {
    .title = "Weight map",
    .draw = tree_draw,
    .key = tree_key,
    .find = tree_find,
    .hint = "Enter open  h up  t flat  s sort  f filter  e policy",
};

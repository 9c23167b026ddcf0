/* report_html.c - one self-contained page for people (SPEC §9): summary and
 * provenance, per-layer charts of rel_l2 and excess for each tensor family,
 * scale-exponent histograms, the coverage table, the findings with the rule
 * that decided each, and the waivers. No script, no network: inline CSS and
 * inline SVG, with <title> tooltips and <details> for what is long.
 *
 * The page is written as XHTML-compatible HTML (every element closed, only
 * the five XML entities), so an XML parser can check it as well as a browser.
 *
 * Small by construction, whatever the checkpoint: a chart has at most
 * HTML_CHART_BARS bars (beyond that consecutive tensors share a bar, which
 * shows the worst of them), at most HTML_FAMILIES families get charts of
 * their own (the rest share one), and the tables stop at fixed counts with
 * the remainder left to the JSON report. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_common.h"
#include "text.h"

#define HTML_CHART_BARS 120  /* bars in one chart */
#define HTML_FAMILIES 24     /* families charted apart; the others share one chart */
#define HTML_WORST 20        /* rows of the worst-tensors table */
#define HTML_FINDINGS 200    /* rows of the findings and of the waivers tables */
#define HTML_COVERAGE_NAMES 50 /* names listed per coverage id */
#define HTML_FILES 500       /* manifest rows per side */

/* Chart geometry, in SVG user units (the SVG scales to the page width). */
#define CH_W 960.0
#define CH_H 120.0
#define CH_LEFT 70.0
#define CH_TOP 12.0
#define CH_BOTTOM 22.0
#define CH_PLOT_W (CH_W - CH_LEFT - 10.0)
#define CH_PLOT_H (CH_H - CH_TOP - CH_BOTTOM)
#define CH_X_LABELS 24 /* x-axis labels per chart at most */

/* ---- text ------------------------------------------------------------------ */

/* Text that is already printable (escaped by whoever wrote it) as HTML text
 * or attribute value: the five XML specials as entities, and any C0 control
 * or DEL that still got here as a visible \xNN. */
static void html_text(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)or_empty(s); *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(out, "\\x%02X", *p);
            else
                fputc(*p, out);
        }
    }
}

/* Untrusted text (names from files, paths from the command line): escaped
 * for display first (controls, invalid UTF-8, hidden characters), then for
 * HTML. */
static void html_put(FILE *out, const char *s)
{
    char *shown = text_escape_dup(or_empty(s));
    html_text(out, shown);
    free(shown);
}

static void put_value(FILE *out, double v, int prec, bool sci)
{
    char buf[REPORT_NUM_TEXT];
    report_format_value(v, prec, sci, buf, sizeof buf);
    dot_decimal(buf);
    fputs(buf, out);
}

static void put_percent(FILE *out, double v)
{
    char buf[REPORT_NUM_TEXT];
    report_format_percent(v, buf, sizeof buf);
    dot_decimal(buf);
    fputs(buf, out);
}

/* An SVG coordinate, one decimal. */
static void put_coord(FILE *out, double v)
{
    char buf[REPORT_NUM_TEXT];
    snprintf(buf, sizeof buf, "%.1f", v);
    dot_decimal(buf);
    fputs(buf, out);
}

static const char *status_name(vt_status s)
{
    return s == VT_FAIL ? "fail" : s == VT_WARN ? "warn" : "pass";
}

/* rel_l2 as every part of the page shows it. */
static void put_rel_l2(FILE *out, const verify_tensor *t)
{
    if (t->compared)
        put_value(out, t->stats.rel_l2, 4, true);
    else
        fputs("-", out);
}

static void put_excess(FILE *out, const verify_tensor *t)
{
    if (t->compared)
        put_value(out, t->stats.excess, 3, false);
    else
        fputs("-", out);
}

static void put_rule(FILE *out, const finding_rule *rule)
{
    if (!rule->file) {
        fputs("finding table default", out);
        return;
    }
    if (rule->id) {
        fputs("rule ", out);
        html_put(out, rule->id);
        fputs(", ", out);
    }
    html_put(out, rule->file);
    fprintf(out, ":%lu", rule->line);
}

/* ---- tensor families -------------------------------------------------------- */

/* A quantized tensor's place in the charts: its family is its name with
 * every all-digit component written "*" (model.layers.*.mlp.experts.down_proj,
 * and model.layers.*.mlp.experts.*.down_proj where experts are tensors of
 * their own); a name without such a component is outside the layers (family
 * ""). */
typedef struct {
    char *family;
    const verify_tensor *t;
} html_item;

typedef struct {
    const char *label;  /* the family, or what the chart holds */
    size_t first, count; /* items[first .. first+count) */
} html_group;

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static char *family_of(const char *name)
{
    size_t len = strlen(name);
    char *f = xmalloc(len + 1);
    size_t o = 0;
    bool numbered = false;
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, ".");
        if (all_digits(p, n)) {
            f[o++] = '*';
            numbered = true;
        } else {
            memcpy(f + o, p, n);
            o += n;
        }
        p += n;
        if (*p == '.')
            f[o++] = *p++;
    }
    f[numbered ? o : 0] = '\0';
    return f;
}

/* Names compared with digit runs as numbers: layer 2 before layer 10. */
static int natural_cmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            while (*a == '0')
                a++;
            while (*b == '0')
                b++;
            size_t na = strspn(a, "0123456789"), nb = strspn(b, "0123456789");
            if (na != nb)
                return na < nb ? -1 : 1;
            int c = strncmp(a, b, na);
            if (c)
                return c;
            a += na;
            b += nb;
        } else if (*a != *b) {
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        } else {
            a++;
            b++;
        }
    }
    return *a ? 1 : *b ? -1 : 0;
}

static int item_cmp(const void *x, const void *y)
{
    const html_item *a = x, *b = y;
    int c = strcmp(a->family, b->family);
    if (c)
        return c;
    const char *na = or_empty(a->t->name), *nb = or_empty(b->t->name);
    c = natural_cmp(na, nb);
    return c ? c : strcmp(na, nb);
}

/* The quantized tensors, sorted by family, then layer. */
static html_item *collect_items(const verify_result *r, size_t *count)
{
    html_item *items = xmalloc(sizeof *items * (r->quantized + 1));
    size_t n = 0, cap = r->quantized + 1;
    for (size_t i = 0; i < r->tensor_count; i++) {
        const verify_tensor *t = &r->tensors[i];
        if (t->kind != VT_QUANTIZED)
            continue;
        xgrow(&items, &cap, n + 1, sizeof *items);
        items[n].family = family_of(or_empty(t->name));
        items[n++].t = t;
    }
    qsort(items, n, sizeof *items, item_cmp);
    *count = n;
    return items;
}

/* Runs of one family; past HTML_FAMILIES families the rest are one group. */
static html_group *group_items(const html_item *items, size_t n, size_t *count)
{
    html_group *g = xmalloc(sizeof *g * (HTML_FAMILIES + 2));
    size_t ng = 0, families = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && strcmp(items[j].family, items[i].family) == 0)
            j++;
        bool outside = items[i].family[0] == '\0';
        if (!outside && families == HTML_FAMILIES) {
            g[ng++] = (html_group){"the other families", i, n - i};
            break;
        }
        families += !outside;
        g[ng++] = (html_group){outside ? "outside the layers" : items[i].family, i, j - i};
        i = j;
    }
    *count = ng;
    return g;
}

/* ---- charts ----------------------------------------------------------------- */

static double sort_key(double v)
{
    return isnan(v) ? INFINITY : v;
}

/* The first all-digit component of a name (its layer), or "". */
static void layer_of(const char *name, char *out, size_t len)
{
    out[0] = '\0';
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, ".");
        if (all_digits(p, n)) {
            snprintf(out, len, "%.*s", (int)(n < 20 ? n : 20), p);
            return;
        }
        p += n + (p[n] == '.');
    }
}

/* The one limit with key that applies to every tensor of the group, or NAN
 * (none, or not the same for all). */
static double common_limit(const verify_result *r, const html_item *it, size_t n, const char *key,
                           const verify_limit **which)
{
    *which = NULL;
    uint32_t set = n ? it[0].t->limits : VERIFY_NO_LIMITS;
    for (size_t i = 1; i < n; i++)
        if (it[i].t->limits != set)
            return NAN;
    if (set == VERIFY_NO_LIMITS || set >= r->limit_set_count)
        return NAN;
    const verify_limit_set *ls = &r->limit_sets[set];
    for (size_t i = 0; i < ls->n; i++)
        if (strcmp(ls->items[i].key, key) == 0) {
            *which = &ls->items[i];
            return ls->items[i].value;
        }
    return NAN;
}

typedef struct {
    size_t per_bar, bars;
} html_bins;

static html_bins bins_of(size_t n)
{
    size_t per = (n + HTML_CHART_BARS - 1) / HTML_CHART_BARS;
    if (per == 0)
        per = 1;
    return (html_bins){per, (n + per - 1) / per};
}

/* The tensor of items[0..n) with the highest value of the statistic (a
 * non-number counts as the highest; an uncompared tensor as the lowest),
 * and the worst status among them. */
static const verify_tensor *bin_worst(const html_item *it, size_t n, bool excess, vt_status *status)
{
    const verify_tensor *w = it[0].t;
    *status = VT_PASS;
    for (size_t i = 0; i < n; i++) {
        const verify_tensor *t = it[i].t;
        if (t->status > *status)
            *status = t->status;
        double kt = t->compared ? sort_key(excess ? t->stats.excess : t->stats.rel_l2) : -1.0;
        double kw = w->compared ? sort_key(excess ? w->stats.excess : w->stats.rel_l2) : -1.0;
        if (kt > kw)
            w = t;
    }
    return w;
}

static double chart_top(const html_item *it, size_t n, bool excess, double limit)
{
    double top = excess ? 1.0 : 0.0;
    for (size_t i = 0; i < n; i++) {
        double v = excess ? it[i].t->stats.excess : it[i].t->stats.rel_l2;
        if (it[i].t->compared && isfinite(v) && v > top)
            top = v;
    }
    if (isfinite(limit) && limit > top)
        top = limit;
    return top > 0 ? top * 1.1 : 1.0;
}

static double bar_height(const verify_tensor *t, bool excess, double top)
{
    if (!t->compared)
        return 0.0;
    double v = excess ? t->stats.excess : t->stats.rel_l2;
    if (isnan(v))
        return 0.0;
    if (v >= top)
        return CH_PLOT_H;
    return v > 0 ? v / top * CH_PLOT_H : 0.0;
}

/* A dashed horizontal line at value v with a label. */
static void chart_line(FILE *out, double v, double top, const char *cls, const char *label, const verify_limit *lim)
{
    if (!isfinite(v) || v < 0)
        return;
    double y = CH_TOP + CH_PLOT_H - v / top * CH_PLOT_H;
    fputs("<line class=\"", out);
    fputs(cls, out);
    fputs("\" x1=\"", out);
    put_coord(out, CH_LEFT);
    fputs("\" x2=\"", out);
    put_coord(out, CH_LEFT + CH_PLOT_W);
    fputs("\" y1=\"", out);
    put_coord(out, y);
    fputs("\" y2=\"", out);
    put_coord(out, y);
    fputs("\"/><text class=\"lbl\" x=\"", out);
    put_coord(out, CH_LEFT + CH_PLOT_W - 4);
    fputs("\" y=\"", out);
    put_coord(out, y - 3);
    fputs("\" text-anchor=\"end\">", out);
    fputs(label, out);
    fputc(' ', out);
    put_value(out, v, 3, false);
    if (lim && lim->rule_id) {
        fputs(" (rule ", out);
        html_put(out, lim->rule_id);
        fputc(')', out);
    }
    fputs("</text>", out);
}

/* The baseline, the top value (already formatted) and the name of what the
 * bars show. */
static void chart_axes(FILE *out, const char *top, const char *name)
{
    fputs("<line class=\"axis\" x1=\"", out);
    put_coord(out, CH_LEFT);
    fputs("\" x2=\"", out);
    put_coord(out, CH_LEFT + CH_PLOT_W);
    fputs("\" y1=\"", out);
    put_coord(out, CH_TOP + CH_PLOT_H);
    fputs("\" y2=\"", out);
    put_coord(out, CH_TOP + CH_PLOT_H);
    fputs("\"/><text class=\"lbl\" x=\"4\" y=\"", out);
    put_coord(out, CH_TOP + 8);
    fputs("\">", out);
    fputs(top, out);
    fputs("</text><text class=\"lbl\" x=\"4\" y=\"", out);
    put_coord(out, CH_TOP + CH_PLOT_H);
    fputs("\">0</text><text class=\"name\" x=\"4\" y=\"", out);
    put_coord(out, CH_TOP + CH_PLOT_H / 2);
    fprintf(out, "\">%s</text>", name);
}

/* The layer of a bar's first tensor under it, for some bars. */
static void chart_x_label(FILE *out, const html_item *it, size_t b, html_bins bins, double x, double w)
{
    size_t every = (bins.bars + CH_X_LABELS - 1) / CH_X_LABELS;
    if (b % every)
        return;
    char layer[24];
    layer_of(or_empty(it[b * bins.per_bar].t->name), layer, sizeof layer);
    if (!layer[0])
        return;
    fputs("<text class=\"lbl\" x=\"", out);
    put_coord(out, x + w / 2);
    fputs("\" y=\"", out);
    put_coord(out, CH_H - 6);
    fprintf(out, "\" text-anchor=\"middle\">%s</text>", layer);
}

/* One rect per bar: class "bar STATUS", the tensor it shows (the worst of
 * its bin), the number of tensors it stands for, its rel_l2 as the page
 * prints it, and a tooltip. */
static void rel_l2_bar(FILE *out, const html_item *it, size_t n, double x, double w, double top)
{
    vt_status st;
    const verify_tensor *t = bin_worst(it, n, false, &st);
    double h = bar_height(t, false, top);
    bool nodata = !t->compared;
    fprintf(out, "<rect class=\"bar %s%s\" x=\"", status_name(st), nodata ? " nodata" : "");
    put_coord(out, x);
    fputs("\" y=\"", out);
    put_coord(out, CH_TOP + CH_PLOT_H - (nodata ? 2.0 : h));
    fputs("\" width=\"", out);
    put_coord(out, w);
    fputs("\" height=\"", out);
    put_coord(out, nodata ? 2.0 : h);
    fputs("\" data-tensor=\"", out);
    html_put(out, t->name);
    fprintf(out, "\" data-count=\"%zu\" data-rel-l2=\"", n);
    put_rel_l2(out, t);
    fputs("\"><title>", out);
    if (n > 1)
        fprintf(out, "%zu tensors, the worst: ", n);
    html_put(out, t->name);
    fputs(": rel_l2 ", out);
    put_rel_l2(out, t);
    fputs(", excess ", out);
    put_excess(out, t);
    fprintf(out, ", %s</title></rect>", status_name(t->status));
}

/* What the two per-layer charts share: the limit of the policy (when one
 * applies to every tensor shown), the scale, the bars' places; chart_begin
 * writes the frame and the axes. */
typedef struct {
    const verify_limit *lim;
    double limit, top, step, w;
    html_bins bins;
} chart_frame;

static chart_frame chart_begin(FILE *out, const verify_result *r, const html_item *it, size_t n, bool excess)
{
    const char *what = excess ? "excess" : "rel_l2";
    chart_frame f;
    f.limit = common_limit(r, it, n, excess ? "max_excess" : "max_rel_l2", &f.lim);
    f.top = chart_top(it, n, excess, f.limit);
    f.bins = bins_of(n);
    f.step = CH_PLOT_W / (double)f.bins.bars;
    f.w = f.step * 0.8;
    fprintf(out, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s per layer\">",
            (int)CH_W, (int)CH_H, what);
    char top_text[REPORT_NUM_TEXT];
    report_format_value(f.top, 3, !excess, top_text, sizeof top_text);
    dot_decimal(top_text);
    chart_axes(out, top_text, what);
    return f;
}

/* Left edge of bar b. */
static double chart_bar_x(const chart_frame *f, size_t b)
{
    return CH_LEFT + f->step * (double)b + (f->step - f->w) / 2;
}

static void chart_rel_l2(FILE *out, const verify_result *r, const html_item *it, size_t n)
{
    chart_frame f = chart_begin(out, r, it, n, false);
    for (size_t b = 0; b < f.bins.bars; b++) {
        size_t first = b * f.bins.per_bar, k = n - first < f.bins.per_bar ? n - first : f.bins.per_bar;
        rel_l2_bar(out, it + first, k, chart_bar_x(&f, b), f.w, f.top);
        chart_x_label(out, it, b, f.bins, chart_bar_x(&f, b), f.w);
    }
    chart_line(out, f.limit, f.top, "limit", "max_rel_l2", f.lim);
    fputs("</svg>\n", out);
}

/* Excess bars are one path per status (small: a chart's bars are not
 * elements of their own here; the rel_l2 bars carry the tooltips). */
static void chart_excess(FILE *out, const verify_result *r, const html_item *it, size_t n)
{
    chart_frame f = chart_begin(out, r, it, n, true);
    for (int s = VT_PASS; s <= VT_FAIL; s++) {
        bool open = false;
        for (size_t b = 0; b < f.bins.bars; b++) {
            size_t first = b * f.bins.per_bar, k = n - first < f.bins.per_bar ? n - first : f.bins.per_bar;
            vt_status st;
            const verify_tensor *t = bin_worst(it + first, k, true, &st);
            double h = bar_height(t, true, f.top);
            if (st != (vt_status)s || h <= 0)
                continue;
            if (!open)
                fprintf(out, "<path class=\"ex %s\" d=\"", status_name(st));
            open = true;
            fputc('M', out);
            put_coord(out, chart_bar_x(&f, b));
            fputc(' ', out);
            put_coord(out, CH_TOP + CH_PLOT_H - h);
            fputc('h', out);
            put_coord(out, f.w);
            fputc('v', out);
            put_coord(out, h);
            fputc('h', out);
            put_coord(out, -f.w);
            fputs("z", out);
        }
        if (open)
            fputs("\"/>", out);
    }
    chart_line(out, 1.0, f.top, "ref", "reference", NULL);
    chart_line(out, f.limit, f.top, "limit", "max_excess", f.lim);
    fputs("</svg>\n", out);
}

/* The scale exponents of a group's tensors, summed: one bar per exponent
 * from the smallest to the largest that occurs, NaN scales counted apart. */
static void scale_histogram(FILE *out, const html_item *it, size_t n)
{
    uint64_t full[SCALE_HIST_BYTES] = {0}, most = 0;
    for (size_t i = 0; i < n; i++)
        for (unsigned e = 0; e < it[i].t->scale_hist.n; e++)
            full[it[i].t->scale_hist.entries[e].byte] += it[i].t->scale_hist.entries[e].count;
    int lo = -1, hi = -1;
    for (int b = 0; b < SCALE_HIST_BYTES - 1; b++) {
        if (!full[b])
            continue;
        if (lo < 0)
            lo = b;
        hi = b;
        if (full[b] > most)
            most = full[b];
    }
    uint64_t nan = full[SCALE_HIST_BYTES - 1];
    if (lo < 0 && !nan) {
        fputs("<p class=\"note\">No scale histogram (no tensor of this group was compared).</p>\n", out);
        return;
    }
    fprintf(out, "<svg class=\"hist\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"scale exponents\">",
            (int)CH_W, (int)CH_H);
    char top_text[REPORT_NUM_TEXT];
    snprintf(top_text, sizeof top_text, "%llu", (unsigned long long)most);
    chart_axes(out, top_text, "blocks");
    if (lo >= 0) {
        double step = CH_PLOT_W / (double)(hi - lo + 1), w = step * 0.8;
        int every = (hi - lo + CH_X_LABELS) / CH_X_LABELS;
        for (int b = lo; b <= hi; b++) {
            double x = CH_LEFT + step * (double)(b - lo) + (step - w) / 2;
            double h = most ? (double)full[b] / (double)most * CH_PLOT_H : 0;
            fputs("<rect class=\"h\" x=\"", out);
            put_coord(out, x);
            fputs("\" y=\"", out);
            put_coord(out, CH_TOP + CH_PLOT_H - h);
            fputs("\" width=\"", out);
            put_coord(out, w);
            fputs("\" height=\"", out);
            put_coord(out, h);
            fprintf(out, "\"><title>2^%d: %llu block%s</title></rect>", b - 127, (unsigned long long)full[b],
                    full[b] == 1 ? "" : "s");
            if ((b - lo) % every == 0) {
                fputs("<text class=\"lbl\" x=\"", out);
                put_coord(out, x + w / 2);
                fputs("\" y=\"", out);
                put_coord(out, CH_H - 6);
                fprintf(out, "\" text-anchor=\"middle\">%d</text>", b - 127);
            }
        }
    }
    if (nan) {
        fputs("<text class=\"lbl bad\" x=\"", out);
        put_coord(out, CH_LEFT + CH_PLOT_W - 4);
        fprintf(out, "\" y=\"%d\" text-anchor=\"end\">NaN scales: %llu</text>", (int)CH_TOP + 10,
                (unsigned long long)nan);
    }
    fputs("</svg>\n", out);
}

static void html_families(FILE *out, const verify_result *r)
{
    size_t n, ng;
    html_item *items = collect_items(r, &n);
    html_group *groups = group_items(items, n, &ng);
    fputs("<section id=\"families\"><h2>Tensor families across layers</h2>\n", out);
    if (!n)
        fputs("<p>No quantized tensor.</p>\n", out);
    else
        fprintf(out, "<p class=\"note\">One bar per quantized tensor, by layer; a chart of more than "
              "%d tensors gives a bar to consecutive tensors together and shows the worst of them. "
              "rel_l2 = ||deq - src|| / ||src||; excess = rel_l2 over the reference quantizer's on the "
              "same source (1: as good as it). Blue pass, orange warn, red fail; hover a bar for its "
              "tensor.</p>\n",
              HTML_CHART_BARS);
    for (size_t g = 0; g < ng; g++) {
        const html_item *it = items + groups[g].first;
        size_t k = groups[g].count;
        html_bins bins = bins_of(k);
        fputs("<section class=\"family\"><h3>", out);
        html_put(out, groups[g].label);
        fprintf(out, "</h3>\n<p class=\"note\">%zu tensor%s", k, k == 1 ? "" : "s");
        if (bins.per_bar > 1)
            fprintf(out, ", up to %zu per bar", bins.per_bar);
        fputs("</p>\n", out);
        chart_rel_l2(out, r, it, k);
        chart_excess(out, r, it, k);
        scale_histogram(out, it, k);
        fputs("</section>\n", out);
    }
    fputs("</section>\n", out);
    for (size_t i = 0; i < n; i++)
        free(items[i].family);
    free(items);
    free(groups);
}

/* ---- tables ----------------------------------------------------------------- */

static void html_summary(FILE *out, const verify_result *r)
{
    bool pass = verify_passed(r);
    char scope[REPORT_SHOWN + 64], bytes[64], secs[REPORT_NUM_TEXT];
    report_scope_text(r, scope, sizeof scope);
    fprintf(out, "<h1>mxfp4-check verify: <span class=\"verdict %s\">%s</span>", pass ? "pass" : "fail",
            pass ? "PASS" : "FAIL");
    if (scope[0]) {
        fputs(" <span class=\"partial\">(", out);
        html_text(out, scope);
        fputs(")</span>", out);
    }
    fputs("</h1>\n<section id=\"summary\"><h2>Summary</h2><table class=\"kv\">\n<tr><th>SRC</th><td>", out);
    html_put(out, r->src);
    fputs("</td></tr>\n<tr><th>DST</th><td>", out);
    html_put(out, r->dst);
    snprintf(secs, sizeof secs, "%.2f", r->seconds);
    dot_decimal(secs);
    fprintf(out,
            "</td></tr>\n<tr><th>tensors</th><td>%zu (%zu quantized, %zu kept)</td></tr>\n"
            "<tr><th>findings</th><td>%zu errors, %zu warnings, %zu waived</td></tr>\n"
            "<tr><th>read</th><td>%s in %s s, backend ",
            r->tensor_count, r->quantized, r->kept, count_sev(r, SEV_ERROR), count_sev(r, SEV_WARN),
            count_waived(r), text_bytes(r->bytes_read, bytes, sizeof bytes), secs);
    html_put(out, r->tool.backend ? r->tool.backend : "-");
    fputs("</td></tr>\n<tr><th>scope</th><td>", out);
    html_text(out, scope[0] ? scope : "complete: every tensor of both checkpoints");
    fputs("</td></tr>\n</table></section>\n", out);
}

static void html_worst(FILE *out, const verify_result *r)
{
    const verify_tensor **order = xmalloc(sizeof *order * (r->tensor_count + 1));
    size_t n = 0;
    for (size_t i = 0; i < r->tensor_count; i++)
        if (r->tensors[i].kind == VT_QUANTIZED || r->tensors[i].status != VT_PASS)
            order[n++] = &r->tensors[i];
    qsort(order, n, sizeof *order, report_cmp_worst);
    fputs("<section id=\"worst\"><h2>Worst tensors</h2>\n", out);
    if (n) {
        fputs("<table><tr><th>status</th><th>tensor</th><th>kind</th><th>shape</th><th>rel_l2</th><th>cosine</th>"
              "<th>excess</th><th>codes %</th><th>scales %</th></tr>\n",
              out);
        for (size_t i = 0; i < n && i < HTML_WORST; i++) {
            const verify_tensor *t = order[i];
            char shape[256];
            fprintf(out, "<tr class=\"%s\"><td>%s</td><td class=\"tn\">", status_name(t->status),
                    status_name(t->status));
            html_put(out, t->name);
            fprintf(out, "</td><td>%s</td><td>%s</td><td class=\"num\">", t->kind == VT_QUANTIZED ? "quantized" : "kept",
                    text_shape(t->shape, t->rank, shape, sizeof shape));
            put_rel_l2(out, t);
            fputs("</td><td class=\"num\">", out);
            if (t->compared)
                put_value(out, t->stats.cosine, 6, false);
            else
                fputs("-", out);
            bool q = t->compared && t->kind == VT_QUANTIZED;
            fputs("</td><td class=\"num\">", out);
            if (q)
                put_excess(out, t);
            else
                fputs("-", out);
            fputs("</td><td class=\"num\">", out);
            q ? put_percent(out, t->stats.codes_identical) : (void)fputs("-", out);
            fputs("</td><td class=\"num\">", out);
            q ? put_percent(out, t->stats.scales_identical) : (void)fputs("-", out);
            fputs("</td></tr>\n", out);
        }
        fputs("</table>\n", out);
        if (n > HTML_WORST)
            fprintf(out, "<p class=\"note\">%zu more in the JSON report.</p>\n", n - HTML_WORST);
    } else {
        fputs("<p>No quantized tensor, and every kept tensor passed.</p>\n", out);
    }
    fputs("</section>\n", out);
    free(order);
}

/* Each pattern and what it matched, then the tensors of each coverage id. */
static void html_coverage(FILE *out, const verify_result *r)
{
    fputs("<section id=\"coverage\"><h2>Coverage of modules_to_not_convert</h2>\n", out);
    if (r->pattern_count) {
        fputs("<table><tr><th>pattern</th><th>matched (converter)</th><th>matched (loader)</th><th></th></tr>\n",
              out);
        for (size_t i = 0; i < r->pattern_count; i++) {
            const verify_pattern *p = &r->patterns[i];
            fputs("<tr><td class=\"tn\">", out);
            html_put(out, p->pattern);
            fprintf(out, "</td><td class=\"num\">%llu</td><td class=\"num\">%llu</td><td>%s</td></tr>\n",
                    (unsigned long long)p->matched, (unsigned long long)p->matched_loader,
                    p->matched == 0 ? "stale: matches nothing"
                    : p->matched != p->matched_loader ? "the views differ"
                                                      : "");
        }
        fputs("</table>\n", out);
    } else {
        fputs("<p>No modules_to_not_convert pattern.</p>\n", out);
    }
    fputs("<table><tr><th>check</th><th>count</th><th>tensors</th></tr>\n", out);
    for (size_t k = 0; k < finding_kind_count(); k++) {
        const finding_kind *kind = finding_kind_at(k);
        if (kind->group != FG_COVERAGE)
            continue;
        size_t count = 0;
        fputs("<tr><td>", out);
        html_text(out, kind->id);
        fputs("</td><td class=\"num\">", out);
        for (size_t i = 0; i < nfindings(r); i++) {
            const finding *f = live_finding(r, i);
            count += f && strcmp(or_empty(f->id), kind->id) == 0;
        }
        fprintf(out, "%zu</td><td class=\"tn\">", count);
        size_t shown = 0;
        for (size_t i = 0; i < nfindings(r) && shown < HTML_COVERAGE_NAMES; i++) {
            const finding *f = live_finding(r, i);
            if (!f || strcmp(or_empty(f->id), kind->id) != 0 || !f->tensor)
                continue;
            fputs(shown++ ? ", " : "", out);
            html_put(out, f->tensor);
        }
        if (count > shown && shown)
            fprintf(out, " ... (%zu in all)", count);
        fputs("</td></tr>\n", out);
    }
    fputs("</table></section>\n", out);
}

static void finding_row(FILE *out, const finding *f)
{
    fprintf(out, "<tr class=\"%s\"><td>%s%s</td><td>", severity_name(f->sev), f->waived ? "waived " : "",
            severity_name(f->sev));
    html_text(out, f->id);
    fputs("</td><td class=\"tn\">", out);
    html_put(out, f->tensor ? f->tensor : f->file);
    fputs("</td><td>", out);
    html_text(out, f->message);
    fputs("</td><td>", out);
    put_rule(out, &f->rule);
    fputs("</td></tr>\n", out);
}

static void html_findings(FILE *out, const verify_result *r)
{
    size_t shown = 0, total = 0;
    fputs("<section id=\"findings\"><h2>Findings</h2>\n", out);
    size_t *order = report_findings_worst_first(r, SEV_INFO, &total);
    for (size_t k = 0; k < total && shown < HTML_FINDINGS; k++) {
        if (shown++ == 0)
            fputs("<table><tr><th>severity</th><th>id</th><th>tensor or file</th><th>message</th>"
                  "<th>decided by</th></tr>\n",
                  out);
        finding_row(out, findings_at(r->findings, order[k]));
    }
    free(order);
    if (shown)
        fputs("</table>\n", out);
    else
        fputs("<p>No findings.</p>\n", out);
    if (total > shown)
        fprintf(out, "<p class=\"note\">%zu more in the JSON report.</p>\n", total - shown);
    fputs("</section>\n", out);
}

static void html_waivers(FILE *out, const verify_result *r)
{
    size_t shown = 0, total = 0;
    fputs("<section id=\"waivers\"><h2>Waivers</h2>\n", out);
    for (size_t i = 0; i < nfindings(r); i++) {
        const finding *f = live_finding(r, i);
        if (!f || !f->waived)
            continue;
        if (total++ >= HTML_FINDINGS)
            continue;
        if (shown++ == 0)
            fputs("<table><tr><th>id</th><th>tensor or file</th><th>reason</th><th>expires</th>"
                  "<th>waived by</th></tr>\n",
                  out);
        fputs("<tr><td>", out);
        html_text(out, f->id);
        fputs("</td><td class=\"tn\">", out);
        html_put(out, f->tensor ? f->tensor : f->file);
        fputs("</td><td>", out);
        html_put(out, f->waiver_reason);
        fputs("</td><td>", out);
        html_put(out, f->waiver_expires ? f->waiver_expires : "never");
        fputs("</td><td>", out);
        put_rule(out, &f->waiver);
        fputs("</td></tr>\n", out);
    }
    fputs(shown ? "</table>\n" : "<p>No finding was waived.</p>\n", out);
    if (total > shown)
        fprintf(out, "<p class=\"note\">%zu more in the JSON report.</p>\n", total - shown);
    fputs("</section>\n", out);
}

static void manifest_side(FILE *out, const char *side, const result_file *files, size_t count)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < count; i++)
        bytes += files[i].bytes;
    char b[64];
    fprintf(out, "<details><summary>%s: %zu files, %s</summary><table><tr><th>file</th><th>bytes</th>"
                 "<th>sha256</th></tr>\n",
            side, count, text_bytes(bytes, b, sizeof b));
    for (size_t i = 0; i < count && i < HTML_FILES; i++) {
        fputs("<tr><td class=\"tn\">", out);
        html_put(out, files[i].file);
        fprintf(out, "</td><td class=\"num\">%llu</td><td class=\"tn\">", (unsigned long long)files[i].bytes);
        html_put(out, files[i].hashed ? files[i].sha256 : "-");
        fputs("</td></tr>\n", out);
    }
    fputs("</table>", out);
    if (count > HTML_FILES)
        fprintf(out, "<p class=\"note\">%zu more in the JSON report.</p>", count - HTML_FILES);
    fputs("</details>\n", out);
}

static void html_provenance(FILE *out, const verify_result *r)
{
    fputs("<section id=\"provenance\"><h2>Provenance</h2><table class=\"kv\">\n<tr><th>tool</th><td>mxfp4-check ",
          out);
    html_put(out, r->tool.version);
    fputs("</td></tr>\n<tr><th>devices</th><td>", out);
    for (size_t i = 0; i < r->tool.device_count; i++) {
        fputs(i ? ", " : "", out);
        html_put(out, r->tool.devices[i]);
    }
    fputs("</td></tr>\n<tr><th>started</th><td>", out);
    html_put(out, r->tool.started[0] ? r->tool.started : "-");
    fputs("</td></tr>\n<tr><th>command</th><td class=\"tn\">", out);
    for (size_t i = 0; i < r->tool.argc; i++) {
        fputs(i ? " " : "", out);
        html_put(out, r->tool.argv[i]);
    }
    fputs("</td></tr>\n<tr><th>policy</th><td>builtin ", out);
    html_put(out, r->builtin ? r->builtin : "default");
    for (size_t i = 0; i < r->policy_file_count; i++) {
        if (r->policy_files[i].builtin)
            continue;
        fputs(", ", out);
        html_put(out, r->policy_files[i].path);
        fputs(" (sha256 ", out);
        html_put(out, r->policy_files[i].sha256);
        fputc(')', out);
    }
    fputs("</td></tr>\n</table>\n", out);
    manifest_side(out, "SRC", r->manifest.src, r->manifest.src_count);
    manifest_side(out, "DST", r->manifest.dst, r->manifest.dst_count);
    fputs("</section>\n", out);
}

/* ---- the page --------------------------------------------------------------- */

static const char html_style[] =
    "body{font:14px/1.4 sans-serif;margin:1.5em auto;max-width:1100px;padding:0 1em;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}"
    "h3{font-size:1em;font-family:monospace;margin-bottom:.2em}"
    "table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:2px 6px;"
    "text-align:left;vertical-align:top}th{background:#f4f4f4}td.num{text-align:right;font-family:monospace}"
    "td.tn{font-family:monospace;word-break:break-all}.kv th{width:8em}"
    ".verdict.pass{color:#1a7f37}.verdict.fail{color:#c62828}.partial{color:#b26a00}"
    "tr.fail td,tr.error td{background:#fdecea}tr.warn td{background:#fff6e0}"
    ".note{color:#555;font-size:.9em}svg{display:block;width:100%;height:auto;margin:.2em 0}"
    ".bar.pass,.ex.pass{fill:#4878a8}.bar.warn,.ex.warn{fill:#e69a00}.bar.fail,.ex.fail{fill:#c62828}"
    ".bar.nodata{fill:#999}.h{fill:#7a6fb0}.axis{stroke:#888}"
    ".limit{stroke:#c62828;stroke-dasharray:6 4}.ref{stroke:#1a7f37;stroke-dasharray:2 3}"
    ".lbl{font:11px sans-serif;fill:#444}.lbl.bad{fill:#c62828}.name{font:12px monospace;fill:#222}";

int report_emit_html(FILE *out, const verify_result *r)
{
    char scope[REPORT_SHOWN + 64];
    report_scope_text(r, scope, sizeof scope);
    fprintf(out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
            "<meta name=\"viewport\" content=\"width=device-width\"/>"
            "<title>mxfp4-check verify: %s",
            verify_passed(r) ? "PASS" : "FAIL");
    if (scope[0]) { /* a partial run says so in the tab's title too */
        fputs(" (", out);
        html_text(out, scope);
        fputc(')', out);
    }
    fprintf(out, "</title><style>%s</style></head>\n<body>\n", html_style);
    html_summary(out, r);
    html_worst(out, r);
    html_families(out, r);
    html_coverage(out, r);
    html_findings(out, r);
    html_waivers(out, r);
    html_provenance(out, r);
    fputs("</body></html>\n", out);
    return ferror(out) ? -1 : 0;
}

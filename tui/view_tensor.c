/* view_tensor.c - one tensor in detail: dtype, logical and stored shape,
 * where its bytes lie, the report's statistics, the scale-exponent
 * histogram (read in the background when the report has none), and the
 * statistics against SRC computed on request (`c`). */
#define _XOPEN_SOURCE 700
#define _XOPEN_SOURCE_EXTENDED 1
#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tui.h"

#define MXFP4_SCALE_BIAS_SHOWN 127 /* E8M0: 2^(byte - 127); byte 255 is NaN */
#define HIST_BAR_MAX 48

static ptrdiff_t shown = -1;
static int offset;
static int lines_drawn; /* lines of the last draw, for scrolling */

/* Lines are numbered from the top of the content; only those inside the
 * window are drawn. */
typedef struct {
    int top, rows, next;
} cursor;

static int line_y(cursor *c)
{
    int v = c->next++ - offset;
    return v >= 0 && v < c->rows ? c->top + v : -1;
}

static void label_line(cursor *c, const char *label, tui_style st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void label_line(cursor *c, const char *label, tui_style st, const char *fmt, ...)
{
    int y = line_y(c);
    if (y < 0)
        return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tui_put_trusted(y, 0, 12, STYLE_DIM, label);
    tui_put(y, 12, tui_cols() - 12, st, buf);
}

static void part_lines(cursor *c, const model_part *p)
{
    char shp[256], b[32];
    label_line(c, p->role, STYLE_NORMAL, "%s", p->name);
    label_line(c, "", STYLE_NORMAL, "%s %s  %s", p->dtype, tui_shape(p->shape, p->rank, shp, sizeof shp),
               tui_bytes(p->end - p->begin, b, sizeof b));
    label_line(c, "", STYLE_NORMAL, "shard %s", p->shard);
    label_line(c, "", STYLE_NORMAL, "data_offsets [%llu, %llu)  file offset %llu", (unsigned long long)p->begin,
               (unsigned long long)p->end, (unsigned long long)p->file_offset);
}

static const char *status_text(model_status s)
{
    return s == MS_FAIL ? "FAIL" : s == MS_WARN ? "warn" : s == MS_PASS ? "pass" : "-";
}

static void stats_lines(cursor *c, const char *title, const model_stats *s)
{
    char a[32], b[32], d[32], e[32];
    label_line(c, title, s->status == MS_FAIL ? STYLE_FAIL : s->status == MS_WARN ? STYLE_WARN : STYLE_OK,
               "%s%s", status_text(s->status), s->compared ? "" : s->identical ? "  (bit-identical)" : "");
    if (!s->compared)
        return;
    label_line(c, "", STYLE_NORMAL, "rel_l2 %s  cosine %s  snr_db %s", tui_num(s->rel_l2, a, sizeof a),
               tui_num(s->cosine, b, sizeof b), tui_num(s->snr_db, d, sizeof d));
    label_line(c, "", STYLE_NORMAL, "max_abs_err %s  mean_abs_err %s  rmse %s", tui_num(s->max_abs_err, a, sizeof a),
               tui_num(s->mean_abs_err, b, sizeof b), tui_num(s->rmse, d, sizeof d));
    label_line(c, "", STYLE_NORMAL, "nonfinite %llu  equal %s", (unsigned long long)s->nonfinite,
               tui_num(s->equal_fraction, a, sizeof a));
    label_line(c, "", STYLE_NORMAL, "requant: codes identical %s  scales identical %s",
               tui_num(s->codes_identical, a, sizeof a), tui_num(s->scales_identical, b, sizeof b));
    label_line(c, "", STYLE_NORMAL, "         ref_rel_l2 %s  excess %s", tui_num(s->ref_rel_l2, d, sizeof d),
               tui_num(s->excess, e, sizeof e));
}

static void hist_lines(cursor *c, size_t i)
{
    uint64_t hist[256];
    if (!model_hist(tui.model, i, hist)) {
        model_request_hist(tui.model, i);
        label_line(c, "scales", STYLE_DIM, "reading the scale histogram in the background...");
        return;
    }
    uint64_t peak = 1, total = 0;
    for (int b = 0; b < 256; b++) {
        peak = hist[b] > peak ? hist[b] : peak;
        total += hist[b];
    }
    label_line(c, "scales", STYLE_HEAD, "scale exponents (2^e), %llu blocks", (unsigned long long)total);
    int barw = tui_cols() - 12 - 8 - 12 - 2;
    barw = barw > HIST_BAR_MAX ? HIST_BAR_MAX : barw;
    for (int b = 0; b < 256; b++) {
        if (!hist[b])
            continue;
        int y = line_y(c);
        if (y < 0)
            continue;
        if (b == 255)
            tui_put_trusted(y, 12, 8, STYLE_FAIL, "   NaN");
        else
            tui_putf(y, 12, 8, STYLE_NORMAL, "%6d", b - MXFP4_SCALE_BIAS_SHOWN);
        tui_putf(y, 20, 12, STYLE_NORMAL, "%11llu", (unsigned long long)hist[b]);
        tui_bar(y, 33, barw, (double)hist[b] / (double)peak, b == 255 ? STYLE_FAIL : STYLE_QUANT);
    }
}

static void findings_lines(cursor *c, size_t i)
{
    size_t n;
    const size_t *on = model_findings_on(tui.model, i, &n);
    for (size_t k = 0; k < n; k++) {
        model_finding f;
        model_finding_at(tui.model, on[k], &f);
        label_line(c, k == 0 ? "findings" : "", f.severity == MF_ERROR && !f.waived ? STYLE_FAIL : STYLE_WARN,
                   "%s %s%s: %s", f.severity == MF_ERROR ? "E" : f.severity == MF_WARN ? "W" : "I", f.id,
                   f.waived ? " (waived)" : "", f.message);
    }
}

static void tensor_draw(int top, int rows)
{
    if (shown < 0 || (size_t)shown >= model_tensor_count(tui.model)) {
        tui_put_trusted(top, 0, tui_cols(), STYLE_DIM, "No tensor chosen: open one from the weight map (2).");
        return;
    }
    size_t i = (size_t)shown;
    const model_tensor *t = model_tensor_at(tui.model, i);
    model_layout lay;
    model_layout_of(tui.model, i, &lay);
    cursor c = {top, rows, 0};
    char shp[256], b[32];
    label_line(&c, "tensor", STYLE_HEAD, "%s", t->name);
    if (t->pattern >= 0)
        label_line(&c, "kind", STYLE_KEPT, "[K] kept, pattern '%s'", model_pattern_at(tui.model, (size_t)t->pattern, NULL));
    else
        label_line(&c, "kind", t->quantized ? STYLE_QUANT : STYLE_WARN, "%s",
                   t->quantized ? "[Q] quantized (no pattern keeps it)" : "[K] kept, but no pattern keeps it");
    label_line(&c, "dtype", STYLE_NORMAL, "%s", lay.dtype);
    label_line(&c, "shape", STYLE_NORMAL, "%s%s", tui_shape(lay.shape, lay.rank, shp, sizeof shp),
               t->quantized ? "  (logical: the source's)" : "");
    if (t->quantized) {
        model_layout stored = lay;
        if (stored.rank >= 2) { /* as stored: the last two axes swapped back */
            stored.shape[stored.rank - 2] = lay.shape[lay.rank - 1];
            stored.shape[stored.rank - 1] = lay.shape[lay.rank - 2];
        }
        label_line(&c, "stored", STYLE_NORMAL, "%s  rows of %llu blocks of 32",
                   tui_shape(stored.shape, stored.rank, shp, sizeof shp), (unsigned long long)lay.groups);
    }
    label_line(&c, "bytes", STYLE_NORMAL, "%s (%llu)", tui_bytes(t->bytes, b, sizeof b), (unsigned long long)t->bytes);
    for (int p = 0; p < lay.nparts; p++)
        part_lines(&c, &lay.parts[p]);
    model_stats s;
    if (model_tensor_stats(tui.model, i, &s))
        stats_lines(&c, "report", &s);
    if (model_compare_stats(tui.model, i, &s))
        stats_lines(&c, "vs SRC", &s);
    else if (model_src_path(tui.model))
        label_line(&c, "vs SRC", STYLE_DIM, "c computes the statistics against SRC");
    findings_lines(&c, i);
    if (t->quantized)
        hist_lines(&c, i);
    lines_drawn = c.next;
}

static bool tensor_key(int ch)
{
    if (scroll_key(&offset, ch, lines_drawn, tui_lines() - 3))
        return true;
    if (ch != 'c')
        return false;
    char err[256];
    if (shown < 0)
        return true;
    if (model_request_compare(tui.model, (size_t)shown, err, sizeof err) < 0)
        tui_say("%s", err);
    else
        tui_say("comparing with SRC in the background");
    return true;
}

void tensor_view_show(size_t tensor)
{
    shown = (ptrdiff_t)tensor;
    offset = 0;
    if (model_tensor_at(tui.model, tensor)->quantized)
        model_request_hist(tui.model, tensor);
    tui_open(VIEW_TENSOR);
}

ptrdiff_t tensor_view_current(void) { return shown; }

const tui_view view_tensor = {
    .title = "Tensor",
    .draw = tensor_draw,
    .key = tensor_key,
    .hint = "c compare with SRC  e policy  j/k scroll",
};

/* view_findings.c - the findings of the report (--report, or a verify run
 * here with `v`, its progress drawn at the top), with the rule that decided
 * each and the waivers. Enter opens the tensor a finding is on. */
#define _XOPEN_SOURCE 700
#define _XOPEN_SOURCE_EXTENDED 1
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>

#include "tui.h"

typedef enum { SHOW_ALL, SHOW_ERRORS, SHOW_WARNINGS, SHOW_WAIVED, SHOW_COUNT } show_key;
static const char *const show_names[SHOW_COUNT] = {"all", "errors", "warnings", "waived"};

static show_key show = SHOW_ALL;
static tui_list list;
static size_t *rows;
static size_t nrows;

static bool passes(const model_finding *f)
{
    switch (show) {
    case SHOW_ERRORS: return f->severity == MF_ERROR && !f->waived;
    case SHOW_WARNINGS: return f->severity == MF_WARN && !f->waived;
    case SHOW_WAIVED: return f->waived;
    default: return true;
    }
}

static void refresh_rows(void)
{
    size_t n = model_finding_count(tui.model);
    free(rows);
    rows = malloc((n ? n : 1) * sizeof *rows);
    if (!rows)
        abort();
    nrows = 0;
    for (size_t i = 0; i < n; i++) {
        model_finding f;
        model_finding_at(tui.model, i, &f);
        if (passes(&f))
            rows[nrows++] = i;
    }
    list.n = nrows;
}

/* The progress of a running verify, or the verdict of the report. */
static int draw_head(int y)
{
    int cols = tui_cols();
    model_progress p;
    if (model_busy(tui.model, &p) && p.job == JOB_VERIFY) {
        char d[32], t[32];
        double f = p.total ? (double)p.done / (double)p.total : 0;
        int x = tui_put_trusted(y, 0, cols, STYLE_HEAD, "verify running ");
        tui_bar(y, x, 24, f, STYLE_QUANT);
        tui_putf(y, x + 25, cols - x - 25, STYLE_NORMAL, "%3.0f%%  %s of %s  (x cancels)", 100 * f,
                 tui_bytes(p.done, d, sizeof d), tui_bytes(p.total, t, sizeof t));
        y++;
    }
    if (!model_has_report(tui.model)) {
        tui_put_trusted(y, 0, cols, STYLE_DIM,
                        model_src_path(tui.model) ? "No report loaded: v verifies SRC against DST here, "
                                                    "or open one with --report FILE.json."
                                                  : "No report loaded: open one with --report FILE.json, "
                                                    "or give SRC and press v.");
        return y + 1;
    }
    model_summary s;
    model_report_summary(tui.model, &s);
    char b[32];
    int x = tui_put_trusted(y, 0, 16, s.passed ? STYLE_OK : STYLE_FAIL,
                            s.passed ? (s.complete ? "PASS" : "PASS (partial)") : "FAIL");
    char origin[256];
    model_escape(s.origin, origin, sizeof origin);
    tui_headf(y, x + 2, cols - x - 2, STYLE_NORMAL,
              "%zu errors, %zu warnings, %zu waived; %zu tensors (%zu quantized, %zu kept); %s read in %.1f s; %s",
              s.errors, s.warnings, s.waived, s.tensors, s.quantized, s.kept, tui_bytes(s.bytes_read, b, sizeof b),
              s.seconds, origin);
    return y + 1;
}

static void draw_selected(int y, size_t i)
{
    model_finding f;
    model_finding_at(tui.model, i, &f);
    int cols = tui_cols();
    char rule[512];
    if (f.rule_id && f.rule_file)
        snprintf(rule, sizeof rule, "decided by rule %s (%s:%lu)", f.rule_id, f.rule_file, f.rule_line);
    else if (f.rule_file)
        snprintf(rule, sizeof rule, "severity from %s:%lu", f.rule_file, f.rule_line);
    else
        snprintf(rule, sizeof rule, "severity from the finding table: %s", model_finding_meaning(f.id));
    tui_fill(y, 0, STYLE_DIM);
    tui_put(y, 0, cols, STYLE_NORMAL, f.message);
    tui_put(y + 1, 0, cols, STYLE_DIM, rule);
    if (f.waived)
        tui_putf(y + 2, 0, cols, STYLE_WARN, "waived: %s%s%s", f.waiver_reason ? f.waiver_reason : "",
                 f.waiver_expires ? ", expires " : "", f.waiver_expires ? f.waiver_expires : "");
}

static void findings_draw(int top, int rows_avail)
{
    refresh_rows();
    int y = draw_head(top);
    int cols = tui_cols();
    if (!model_has_report(tui.model))
        return;
    tui_fill(y, 0, STYLE_DIM);
    tui_headf(y, 0, cols, STYLE_DIM, "SEV  %-26s %-34s  (filter %s: f)", "ID", "TENSOR / FILE", show_names[show]);
    y++;
    int body = top + rows_avail - y - 4;
    if (body < 1)
        body = 1;
    list_fit(&list, body);
    for (int r = 0; r < body && list.top + (size_t)r < nrows; r++) {
        size_t i = rows[list.top + (size_t)r];
        model_finding f;
        model_finding_at(tui.model, i, &f);
        bool sel = list.top + (size_t)r == list.cursor;
        tui_style st = sel ? STYLE_CURSOR : STYLE_NORMAL;
        tui_style sev = sel ? st : f.waived ? STYLE_DIM : f.severity == MF_ERROR ? STYLE_FAIL : f.severity == MF_WARN ? STYLE_WARN : STYLE_NORMAL;
        tui_fill(y + r, 0, st);
        tui_put_trusted(y + r, 0, 4, sev, f.waived ? "w" : f.severity == MF_ERROR ? "E" : f.severity == MF_WARN ? "W" : "I");
        tui_put(y + r, 2, 3, sev, f.waived ? "~" : "");
        tui_put(y + r, 5, 26, st, f.id);
        tui_put(y + r, 32, 34, st, f.tensor ? f.tensor : f.file ? f.file : "-");
        tui_put(y + r, 68, cols - 68, st, f.message);
    }
    if (nrows == 0)
        tui_put_trusted(y, 2, cols - 2, STYLE_DIM, "(no findings pass the filter)");
    else if (list.cursor < nrows)
        draw_selected(top + rows_avail - 3, rows[list.cursor]);
}

static bool findings_key(int ch)
{
    refresh_rows();
    if (list_key(&list, ch, tui_lines() - 10))
        return true;
    if (tui_is_enter(ch)) {
        ptrdiff_t t = list.cursor < nrows ? model_finding_tensor(tui.model, rows[list.cursor]) : -1;
        if (t >= 0)
            tensor_view_show((size_t)t);
        else
            tui_say("this finding is on no tensor of DST");
        return true;
    }
    if (ch == 'f') {
        show = (show_key)((show + 1) % SHOW_COUNT);
        list.cursor = list.top = 0;
        refresh_rows();
        tui_say("findings: %s", show_names[show]);
        return true;
    }
    return false;
}

ptrdiff_t findings_view_current(void)
{
    refresh_rows();
    return list.cursor < nrows ? model_finding_tensor(tui.model, rows[list.cursor]) : -1;
}

static bool findings_find(model_matcher *mm, int step, bool here)
{
    refresh_rows();
    size_t n = nrows;
    for (size_t k = here ? 0 : 1; k <= n && n; k++) {
        size_t r = step > 0 ? (list.cursor + k) % n : (list.cursor + n - k % n) % n;
        model_finding f;
        model_finding_at(tui.model, rows[r], &f);
        if ((f.tensor && model_matcher_test(mm, f.tensor)) || model_matcher_test(mm, f.id) ||
            model_matcher_test(mm, f.message)) {
            list.cursor = r;
            return true;
        }
    }
    return false;
}

const tui_view view_findings = {
    .title = "Findings",
    .draw = findings_draw,
    .key = findings_key,
    .find = findings_find,
    .hint = "Enter tensor  f filter  v verify  x cancel",
};

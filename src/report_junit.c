/* report_junit.c - JUnit XML for CI (report.h says which testcases),
 * written as it is produced: one pass counts for the header, one writes. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_common.h"
#include "text.h"

/* ---- JUnit XML ------------------------------------------------------------- */

/* Length of the UTF-8 sequence at p, 0 when it is not a character XML 1.0
 * allows (invalid UTF-8, U+FFFE, U+FFFF). */
static size_t xml_char_len(const unsigned char *p, size_t left)
{
    size_t n = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC0 ? 2 : 0;
    if (n == 0 || n > left || !text_utf8_valid((const char *)p, n))
        return 0;
    if (n == 3 && p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF))
        return 0;
    return n;
}

/* Writes s as XML character data or attribute value. Characters XML 1.0
 * forbids become '?'; in attributes, tabs and newlines are kept as character
 * references (a parser would turn them into spaces). */
static void xml_put(FILE *m, const char *s, bool attr)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t n = xml_char_len(p + i, len - i);
            if (n == 0) {
                fputc('?', m);
                n = 1;
            } else
                fwrite(p + i, 1, n, m);
            i += n;
            continue;
        }
        switch (c) {
        case '&': fputs("&amp;", m); break;
        case '<': fputs("&lt;", m); break;
        case '>': fputs("&gt;", m); break;
        case '"': fputs("&quot;", m); break;
        case '\'': fputs("&apos;", m); break;
        case '\r': fputs("&#13;", m); break;
        case '\t': attr ? fputs("&#9;", m) : fputc(c, m); break;
        case '\n': attr ? fputs("&#10;", m) : fputc(c, m); break;
        default: fputc(c < 0x20 ? '?' : c, m); break;
        }
        i++;
    }
}

typedef struct {
    const verify_result *r;
    double seconds_per_byte;    /* the run's time shared out by the bytes of each tensor */
    verify_links *links;        /* which findings are on which tensor */
    bool stopped;               /* the run stopped: the checks after the fault never ran */
    size_t skipped;
    const finding **scratch;    /* one testcase's findings */
    FILE *body;
    size_t tests, failures;
} junit;

/* A finding that fails its testcase: an error nobody waived. */
static bool junit_failing(const finding *f)
{
    return f->sev == SEV_ERROR && !f->waived;
}

static void junit_lines(FILE *m, const finding *const *fs, size_t n, bool errors)
{
    char line[64];
    for (size_t i = 0; i < n; i++) {
        const finding *f = fs[i];
        if (junit_failing(f) != errors)
            continue;
        fprintf(m, "%s%s [", f->waived ? "waived " : "", severity_name(f->sev));
        xml_put(m, or_empty(f->id), false);
        fputs("] ", m);
        xml_put(m, or_empty(f->message), false);
        if (f->rule.file) { /* the rule that decided, as in the other reports */
            fputs(f->rule.id ? " (rule " : " (", m);
            if (f->rule.id) {
                xml_put(m, f->rule.id, false);
                fputs(", ", m);
            }
            xml_put(m, f->rule.file, false);
            snprintf(line, sizeof line, ":%lu)", f->rule.line);
            fputs(line, m);
        }
        if (f->waived) {
            fputs(" waived by ", m);
            xml_put(m, or_empty(f->waiver.file), false);
            snprintf(line, sizeof line, ":%lu: ", f->waiver.line);
            fputs(line, m);
            xml_put(m, or_empty(f->waiver_reason), false);
        }
        fputc('\n', m);
    }
}

/* One testcase: failing when forced or when one of fs is an error. */
static void junit_case(junit *j, const char *classname, const char *name, const finding *const *fs,
                       size_t n, bool fail, double seconds)
{
    const finding *first = NULL;
    size_t others = 0;
    for (size_t i = 0; i < n; i++) {
        if (junit_failing(fs[i]) && !first)
            first = fs[i];
        others += !junit_failing(fs[i]);
    }
    fail = fail || first;
    /* a check a stopped run never reached is not a pass */
    bool skipped = j->stopped && !fail && !others && strcmp(name, FIND_INPUT_UNREADABLE) != 0;
    j->tests++;
    j->failures += fail;
    j->skipped += skipped;
    if (!j->body)
        return; /* the counting pass */
    fprintf(j->body, "    <testcase classname=\"%s\" name=\"", classname);
    xml_put(j->body, name, true);
    char time[REPORT_NUM_TEXT];
    snprintf(time, sizeof time, "%.3f", isfinite(seconds) && seconds > 0 ? seconds : 0.0);
    dot_decimal(time);
    fprintf(j->body, "\" time=\"%s", time);
    if (skipped) {
        fputs("\">\n      <skipped message=\"the run stopped before this check: SRC or DST could not be read\"/>\n"
              "    </testcase>\n",
              j->body);
        return;
    }
    if (!fail && !others) {
        fputs("\"/>\n", j->body);
        return;
    }
    fputs("\">\n", j->body);
    if (fail) {
        fputs("      <failure message=\"", j->body);
        xml_put(j->body, first ? or_empty(first->message) : "tensor failed", true);
        fputs("\" type=\"", j->body);
        xml_put(j->body, first ? or_empty(first->id) : "status", true);
        fputs("\">", j->body);
        junit_lines(j->body, fs, n, true);
        fputs("</failure>\n", j->body);
    }
    if (others) {
        fputs("      <system-out>", j->body);
        junit_lines(j->body, fs, n, false);
        fputs("</system-out>\n", j->body);
    }
    fputs("    </testcase>\n", j->body);
}

static void junit_tensor(junit *j, size_t t)
{
    size_t count, n = 0;
    const size_t *on = verify_links_on(j->links, t, &count);
    for (size_t k = 0; k < count; k++) {
        const finding *f = live_finding(j->r, on[k]);
        if (f)
            j->scratch[n++] = f;
    }
    const verify_tensor *vt = &j->r->tensors[t];
    char *shown = j->body ? text_escape_dup(or_empty(vt->name)) : NULL;
    junit_case(j, "tensors", shown, j->scratch, n, vt->status == VT_FAIL,
               j->seconds_per_byte * (double)(vt->bytes_src + vt->bytes_dst));
    free(shown);
}

/* The i-th finding when it is live and on no tensor of the report. */
static const finding *unattached(const junit *j, size_t i)
{
    const finding *f = live_finding(j->r, i);
    return f && f->id && !verify_links_attached(j->links, i) ? f : NULL;
}

/* Findings of one id on no tensor of the report. */
static size_t junit_unattached(junit *j, const char *id)
{
    size_t n = 0;
    for (size_t i = 0; i < nfindings(j->r); i++) {
        const finding *f = unattached(j, i);
        if (f && strcmp(f->id, id) == 0)
            j->scratch[n++] = f;
    }
    return n;
}

/* The fixed checks: every structural and coverage id of the finding table
 * gets a testcase, passing or not, so a CI panel lists them all. */
static bool is_junit_check(const char *id)
{
    const finding_kind *k = finding_kind_find(id);
    return k && (k->group == FG_STRUCTURE || k->group == FG_COVERAGE);
}

/* Ids outside the fixed checks (numerics.*, kept.*) with findings on no
 * tensor of the report get a testcase each, so no error goes unreported. */
static void junit_others(junit *j)
{
    id_set seen = {0}; /* one testcase per id, at its first finding */
    for (size_t i = 0; i < nfindings(j->r); i++) {
        const finding *f = unattached(j, i);
        if (!f || is_junit_check(f->id) || !id_set_add(&seen, f->id))
            continue;
        size_t n = junit_unattached(j, f->id);
        junit_case(j, "other", f->id, j->scratch, n, false, 0.0);
    }
    free(seen.ids);
}

/* Every testcase, into j->body (NULL: only counted). */
static void junit_cases(junit *j)
{
    for (size_t i = 0; i < j->r->tensor_count; i++)
        junit_tensor(j, i);
    for (size_t k = 0; k < finding_kind_count(); k++) {
        const finding_kind *fk = finding_kind_at(k);
        if (!is_junit_check(fk->id))
            continue;
        size_t n = junit_unattached(j, fk->id);
        junit_case(j, finding_group_name(fk->group), fk->id, j->scratch, n, false, 0.0);
    }
    junit_others(j);
}

static void junit_property(FILE *out, const char *name, const char *value)
{
    fprintf(out, "      <property name=\"%s\" value=\"", name);
    xml_put(out, value, true);
    fputs("\"/>\n", out);
}

static void junit_file_totals(FILE *out, const char *side, const result_file *f, size_t n)
{
    char name[64], value[128];
    snprintf(name, sizeof name, "manifest.%s", side);
    report_manifest_text(f, n, value, sizeof value);
    junit_property(out, name, value);
}

/* What the verdict rests on, as testsuite properties: the tool, the scope,
 * the policy and the files (SPEC §3 provenance). */
static void junit_properties(FILE *out, const verify_result *r)
{
    char scope[REPORT_SHOWN + 64];
    report_scope_text(r, scope, sizeof scope);
    fputs("    <properties>\n", out);
    junit_property(out, "tool.version", or_empty(r->tool.version));
    junit_property(out, "tool.backend", r->tool.backend ? r->tool.backend : "-");
    for (size_t i = 0; i < r->tool.device_count; i++)
        junit_property(out, "tool.device", r->tool.devices[i]);
    junit_property(out, "tool.started", r->tool.started);
    junit_property(out, "scope", scope[0] ? scope : "complete");
    junit_property(out, "policy.builtin", r->builtin ? r->builtin : "default");
    for (size_t i = 0; i < r->policy_file_count; i++) {
        const verify_policy_file *f = &r->policy_files[i];
        if (f->builtin)
            continue;
        fputs("      <property name=\"policy.file\" value=\"", out);
        char *shown = text_escape_dup(f->path); /* a path from a command line: hidden characters shown */
        xml_put(out, shown, true);
        free(shown);
        fprintf(out, " sha256:%s\"/>\n", f->sha256);
    }
    junit_file_totals(out, "src", r->manifest.src, r->manifest.src_count);
    junit_file_totals(out, "dst", r->manifest.dst, r->manifest.dst_count);
    fprintf(out, "      <property name=\"waived\" value=\"%zu\"/>\n", count_waived(r));
    fputs("    </properties>\n", out);
}

/* The header needs the totals: one pass counts, a second writes, so the XML
 * streams to the file instead of growing in memory. */
int report_emit_junit(FILE *out, const verify_result *r)
{
    junit j = {.r = r, .stopped = verify_result_stopped(r)};
    double secs = isfinite(r->seconds) && r->seconds > 0 ? r->seconds : 0.0, bytes = 0;
    for (size_t i = 0; i < r->tensor_count; i++)
        bytes += (double)(r->tensors[i].bytes_src + r->tensors[i].bytes_dst);
    j.seconds_per_byte = bytes > 0 ? secs / bytes : 0.0;
    j.links = verify_links_build(r);
    j.scratch = xmalloc(sizeof *j.scratch * (nfindings(r) + 1));
    junit_cases(&j);
    size_t tests = j.tests, failures = j.failures, skipped = j.skipped;
    char time[REPORT_NUM_TEXT], scope[REPORT_SHOWN + 64];
    report_scope_text(r, scope, sizeof scope);
    snprintf(time, sizeof time, "%.3f", secs);
    dot_decimal(time);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
    fprintf(out, "<testsuites tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"%s\">\n",
            tests, failures, skipped, time);
    /* a partial run says so where CI panels show it: in the suite's name */
    fputs("  <testsuite name=\"mxfp4-check verify", out);
    if (scope[0]) {
        fputs(" (", out);
        xml_put(out, scope, true);
        fputc(')', out);
    }
    fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"%s\">\n", tests, failures,
            skipped, time);
    junit_properties(out, r);
    j.body = out;
    junit_cases(&j);
    fputs("  </testsuite>\n</testsuites>\n", out);
    verify_links_free(j.links);
    free(j.scratch);
    return ferror(out) ? -1 : 0;
}



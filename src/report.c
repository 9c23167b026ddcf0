/* report.c - the JSON report, JUnit XML and the terminal summary of a
 * verify_result. Findings that the policy turned off (SEV_OFF) appear in
 * none of them. */
#include "report.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonstream.h"
#include "mxfp4.h"
#include "text.h"
#include "util.h"

#define SHOWN 512             /* escaped names in the terminal table */
#define CAUSE_SCALE_BIAS "scale_bias"
#define NUM_TEXT 40           /* "%.17g" of any double fits */

#define ANSI_RED "\x1b[31m"
#define ANSI_YELLOW "\x1b[33m"
#define ANSI_GREEN "\x1b[32m"
#define ANSI_BOLD_RED "\x1b[1;31m"
#define ANSI_BOLD_GREEN "\x1b[1;32m"
#define ANSI_RESET "\x1b[0m"

/* ---- findings ------------------------------------------------------------ */

static size_t nfindings(const verify_result *r)
{
    return r->findings ? findings_count(r->findings) : 0;
}

/* The i-th finding, or NULL when the policy turned it off. */
static const finding *live_finding(const verify_result *r, size_t i)
{
    const finding *f = findings_at(r->findings, i);
    return f && f->sev != SEV_OFF ? f : NULL;
}

static size_t count_sev(const verify_result *r, severity sev)
{
    return r->findings ? findings_count_sev(r->findings, sev) : 0;
}

static bool report_passed(const verify_result *r)
{
    return count_sev(r, SEV_ERROR) == 0;
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* The distinct finding ids met so far. Ids come from the code, not from the
 * input, so there are a few dozen at most: a list is enough. */
typedef struct {
    const char **ids;
    size_t count, cap;
} id_set;

/* Adds id; false when it was already there. */
static bool id_set_add(id_set *s, const char *id)
{
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->ids[i], id) == 0)
            return false;
    xgrow(&s->ids, &s->cap, s->count + 1, sizeof *s->ids);
    s->ids[s->count++] = id;
    return true;
}

/* ---- JSON ---------------------------------------------------------------- */

/* JSON has no infinity or NaN. */
static cJSON *json_num(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *json_count(uint64_t n)
{
    return cJSON_CreateNumber((double)n);
}

cJSON *report_json_rule(const finding_rule *r)
{
    if (!r->file)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "id", text_json_string(r->id));
    cJSON_AddItemToObject(o, "file", text_json_string(r->file));
    cJSON_AddItemToObject(o, "line", json_count(r->line));
    return o;
}

static cJSON *json_waived(const finding *f)
{
    if (!f->waived)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "reason", text_json_string(or_empty(f->waiver_reason)));
    cJSON_AddItemToObject(o, "expires", text_json_string(f->waiver_expires));
    cJSON_AddItemToObject(o, "rule", report_json_rule(&f->waiver));
    return o;
}

static cJSON *json_finding(const finding *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "id", text_json_string(or_empty(f->id)));
    cJSON_AddStringToObject(o, "severity", severity_name(f->sev));
    cJSON_AddItemToObject(o, "tensor", text_json_string(f->tensor));
    cJSON_AddItemToObject(o, "file", text_json_string(f->file));
    cJSON_AddItemToObject(o, "message", text_json_string(or_empty(f->message)));
    cJSON_AddItemToObject(o, "rule", report_json_rule(&f->rule));
    cJSON_AddItemToObject(o, "waived", json_waived(f));
    if (f->id && strcmp(f->id, FIND_DIAGNOSIS) == 0 && f->cause) {
        cJSON_AddItemToObject(o, "cause", text_json_string(f->cause));
        if (strcmp(f->cause, CAUSE_SCALE_BIAS) == 0)
            cJSON_AddNumberToObject(o, "k", f->scale_bias_k);
    }
    return o;
}


static cJSON *json_summary(const verify_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "tensors", json_count(r->tensor_count));
    cJSON_AddItemToObject(o, "quantized", json_count(r->quantized));
    cJSON_AddItemToObject(o, "kept", json_count(r->kept));
    cJSON_AddItemToObject(o, "errors", json_count(count_sev(r, SEV_ERROR)));
    cJSON_AddItemToObject(o, "warnings", json_count(count_sev(r, SEV_WARN)));
    cJSON_AddItemToObject(o, "waived", json_count(r->findings ? findings_count_waived(r->findings) : 0));
    cJSON_AddItemToObject(o, "bytes_read", json_count(r->bytes_read));
    cJSON_AddItemToObject(o, "seconds", json_num(r->seconds));
    return o;
}

/* Coverage lists, each the tensor field of the findings of one id (for
 * coverage.stale_pattern verify puts the pattern there). */
static const struct {
    const char *id, *key;
} coverage_lists[] = {
    {FIND_SHOULD_KEEP, "should_keep"}, {FIND_SHOULD_QUANTIZE, "should_quantize"},
    {FIND_MISSING, "missing"},         {FIND_EXTRA, "extra"},
    {FIND_STALE_PATTERN, "stale_patterns"}, {FIND_VIEW_MISMATCH, "view_mismatch"},
};

#define N_COVERAGE_LISTS (sizeof coverage_lists / sizeof coverage_lists[0])

/* The report's lists that grow with the input: streamed (jsonstream.h). */
enum { LIST_FINDINGS, LIST_PATTERNS, LIST_TENSORS, LIST_COVERAGE /* + k */ };

/* An array holding the placeholder of list. */
static cJSON *json_list(int list)
{
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, jsonstream_placeholder(list));
    return a;
}

static cJSON *json_pattern(const verify_pattern *p)
{
    cJSON *po = cJSON_CreateObject();
    cJSON_AddItemToObject(po, "pattern", text_json_string(or_empty(p->pattern)));
    cJSON_AddItemToObject(po, "matched", json_count(p->matched));
    cJSON_AddItemToObject(po, "matched_loader", json_count(p->matched_loader));
    return po;
}

static cJSON *json_coverage(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "patterns", json_list(LIST_PATTERNS));
    for (size_t k = 0; k < N_COVERAGE_LISTS; k++)
        cJSON_AddItemToObject(o, coverage_lists[k].key, json_list(LIST_COVERAGE + (int)k));
    return o;
}

static int tensor_rank(const verify_tensor *t)
{
    return t->rank < 0 ? 0 : t->rank > ST_MAX_RANK ? ST_MAX_RANK : t->rank;
}

static cJSON *json_shape(const verify_tensor *t)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < tensor_rank(t); i++)
        cJSON_AddItemToArray(a, json_count(t->shape[i]));
    return a;
}

/* The linear index in the source's row-major order as coordinates of the
 * source shape; null when it names no element. */
static cJSON *json_index(const verify_tensor *t)
{
    int rank = tensor_rank(t);
    uint64_t numel = 1, idx = t->stats.max_abs_err_index, coord[ST_MAX_RANK];
    bool bounded = true;
    for (int i = 0; i < rank; i++)
        bounded = bounded && ckd_mul_u64(&numel, numel, t->shape[i]);
    if (bounded && idx >= numel)
        return cJSON_CreateNull();
    for (int i = rank - 1; i >= 0; i--) {
        if (t->shape[i] == 0)
            return cJSON_CreateNull();
        coord[i] = idx % t->shape[i];
        idx /= t->shape[i];
    }
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < rank; i++)
        cJSON_AddItemToArray(a, json_count(coord[i]));
    return a;
}

static cJSON *json_stats(const verify_tensor *t)
{
    const stats_result *s = &t->stats;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "max_abs_err", json_num(s->max_abs_err));
    cJSON_AddItemToObject(o, "max_abs_err_index", json_index(t));
    cJSON_AddItemToObject(o, "mean_abs_err", json_num(s->mean_abs_err));
    cJSON_AddItemToObject(o, "rmse", json_num(s->rmse));
    cJSON_AddItemToObject(o, "rel_l2", json_num(s->rel_l2));
    cJSON_AddItemToObject(o, "cosine", json_num(s->cosine));
    cJSON_AddItemToObject(o, "snr_db", json_num(s->snr_db));
    cJSON_AddItemToObject(o, "nonfinite", json_count(s->nonfinite));
    cJSON_AddItemToObject(o, "equal_fraction", json_num(s->equal_fraction));
    return o;
}

static cJSON *json_requant(const stats_result *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "codes_identical", json_num(s->codes_identical));
    cJSON_AddItemToObject(o, "scales_identical", json_num(s->scales_identical));
    cJSON_AddItemToObject(o, "ref_rel_l2", json_num(s->ref_rel_l2));
    cJSON_AddItemToObject(o, "excess", json_num(s->excess));
    return o;
}

/* Scale exponents e = byte - 127 as decimal keys; byte 0xFF (NaN) apart. */
static cJSON *json_histogram(const scale_hist *sh)
{
    cJSON *h = cJSON_CreateObject(), *counts = cJSON_CreateObject();
    int lo = -1, hi = -1;
    for (unsigned i = 0; i < sh->n; i++) {
        int b = sh->entries[i].byte;
        if (b == (int)MXFP4_SCALE_NAN)
            continue;
        char key[16];
        snprintf(key, sizeof key, "%d", b - MXFP4_SCALE_BIAS);
        cJSON_AddItemToObject(counts, key, json_count(sh->entries[i].count));
        lo = lo < 0 ? b : lo;
        hi = b;
    }
    cJSON_AddItemToObject(h, "min", lo < 0 ? cJSON_CreateNull() : cJSON_CreateNumber(lo - MXFP4_SCALE_BIAS));
    cJSON_AddItemToObject(h, "max", hi < 0 ? cJSON_CreateNull() : cJSON_CreateNumber(hi - MXFP4_SCALE_BIAS));
    cJSON_AddItemToObject(h, "counts", counts);
    cJSON_AddItemToObject(h, "nan", json_count(scale_hist_count(sh, MXFP4_SCALE_NAN)));
    return h;
}

static const char *status_name(vt_status s)
{
    return s == VT_FAIL ? "fail" : s == VT_WARN ? "warn" : "pass";
}

/* {"max_rel_l2": {"value": 0.2, "rule": {...}}, ...}: the limits that
 * applied and the rule that set each. */
static cJSON *json_limits(const verify_result *r, const verify_tensor *t)
{
    cJSON *o = cJSON_CreateObject();
    if (t->limits == VERIFY_NO_LIMITS || t->limits >= r->limit_set_count)
        return o;
    const verify_limit_set *set = &r->limit_sets[t->limits];
    for (size_t i = 0; i < set->n; i++) {
        const verify_limit *l = &set->items[i];
        cJSON *v = cJSON_CreateObject();
        cJSON_AddItemToObject(v, "value", json_num(l->value));
        finding_rule rule = {l->rule_id, l->rule_file, l->rule_line};
        cJSON_AddItemToObject(v, "rule", report_json_rule(&rule));
        cJSON_AddItemToObject(o, l->key, v);
    }
    return o;
}

/* The rule of the finding that set the tensor's status, or null. */
static cJSON *json_status_rule(const verify_result *r, const verify_tensor *t)
{
    if (t->status_finding < 0)
        return cJSON_CreateNull();
    return report_json_rule(&findings_at(r->findings, (size_t)t->status_finding)->rule);
}

static cJSON *json_tensor(const verify_result *r, const verify_tensor *t)
{
    cJSON *o = cJSON_CreateObject();
    bool quantized = t->kind == VT_QUANTIZED;
    cJSON_AddItemToObject(o, "name", text_json_string(or_empty(t->name)));
    cJSON_AddStringToObject(o, "kind", quantized ? "quantized" : "kept");
    cJSON_AddStringToObject(o, "status", status_name(t->status));
    cJSON_AddItemToObject(o, "status_rule", json_status_rule(r, t));
    cJSON_AddItemToObject(o, "limits", json_limits(r, t));
    cJSON_AddItemToObject(o, "shape", json_shape(t));
    cJSON_AddItemToObject(o, "stats", t->compared ? json_stats(t) : cJSON_CreateNull());
    if (quantized && t->compared)
        cJSON_AddItemToObject(o, "requant", json_requant(&t->stats));
    if (quantized && (t->compared || t->scale_hist.n > 0))
        cJSON_AddItemToObject(o, "scale_hist", json_histogram(&t->scale_hist));
    return o;
}

static size_t list_count(const void *ctx, int list)
{
    const verify_result *r = ctx;
    return list == LIST_PATTERNS ? r->pattern_count : list == LIST_TENSORS ? r->tensor_count : nfindings(r);
}

static cJSON *list_element(const void *ctx, int list, size_t i)
{
    const verify_result *r = ctx;
    if (list == LIST_PATTERNS)
        return json_pattern(&r->patterns[i]);
    if (list == LIST_TENSORS)
        return json_tensor(r, &r->tensors[i]);
    const finding *f = live_finding(r, i);
    if (list == LIST_FINDINGS)
        return f ? json_finding(f) : NULL;
    const char *id = coverage_lists[list - LIST_COVERAGE].id;
    return f && f->tensor && f->id && strcmp(f->id, id) == 0 ? text_json_string(f->tensor) : NULL;
}

/* The rule files read, with their SHA-256: the policy a verdict rests on. */
static cJSON *json_policy(const verify_result *r)
{
    cJSON *o = cJSON_CreateObject(), *files = cJSON_CreateArray();
    for (size_t i = 0; i < r->policy_file_count; i++) {
        const verify_policy_file *f = &r->policy_files[i];
        if (f->builtin)
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddItemToObject(e, "path", text_json_string(f->path));
        cJSON_AddStringToObject(e, "sha256", f->sha256);
        cJSON_AddItemToArray(files, e);
    }
    cJSON_AddItemToObject(o, "files", files);
    cJSON_AddItemToObject(o, "builtin", text_json_string(r->builtin ? r->builtin : "default"));
    return o;
}

/* The report with its long lists as placeholders. */
static cJSON *report_skeleton(const verify_result *r)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "schema", REPORT_SCHEMA);
    cJSON_AddStringToObject(root, "result", report_passed(r) ? "pass" : "fail");
    cJSON_AddItemToObject(root, "src", text_json_string(or_empty(r->src)));
    cJSON_AddItemToObject(root, "dst", text_json_string(or_empty(r->dst)));
    cJSON_AddItemToObject(root, "policy", json_policy(r));
    cJSON_AddItemToObject(root, "summary", json_summary(r));
    cJSON_AddItemToObject(root, "findings", json_list(LIST_FINDINGS));
    cJSON_AddItemToObject(root, "coverage", json_coverage());
    cJSON_AddItemToObject(root, "tensors", json_list(LIST_TENSORS));
    return root;
}

static void exact_numbers(cJSON *node);

static jsonstream_source report_source(const verify_result *r)
{
    return (jsonstream_source){list_count, list_element, exact_numbers, r};
}

cJSON *report_json(const verify_result *r)
{
    cJSON *root = report_skeleton(r);
    jsonstream_source src = report_source(r);
    src.prepare = NULL; /* plain cJSON numbers in the tree */
    jsonstream_fill(root, &src);
    return root;
}

/* ---- exact numbers --------------------------------------------------------- */

/* A locale with a decimal comma (the TUI calls setlocale) must not leak into
 * JSON. */
static void dot_decimal(char *buf)
{
    const char *dp = localeconv()->decimal_point;
    if (!dp || !*dp || strcmp(dp, ".") == 0)
        return;
    char *p = strstr(buf, dp);
    if (!p)
        return;
    size_t n = strlen(dp);
    *p = '.';
    memmove(p + 1, p + n, strlen(p + n) + 1);
}

/* Integers below 10^15 print as %.15g prints them; done by hand, they cost
 * no printf and no strtod (most numbers of a report: counts, shapes, 0, 1). */
#define FAST_INTEGER_LIMIT 1e15

static bool format_integer(double v, char *buf, size_t len)
{
    if (!(v > -FAST_INTEGER_LIMIT && v < FAST_INTEGER_LIMIT) || v != floor(v) || (v == 0 && signbit(v)))
        return false;
    char digits[24];
    uint64_t u = (uint64_t)(v < 0 ? -v : v);
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t o = 0;
    if (v < 0 && o + 1 < len)
        buf[o++] = '-';
    while (n && o + 1 < len)
        buf[o++] = digits[--n];
    buf[o] = '\0';
    return true;
}

/* The fewest digits (15..17) that read back as v: cJSON prints 15 and accepts
 * a near miss, so 0.30000000000000004 would come back as 0.3. */
static void format_double(double v, char *buf, size_t len)
{
    if (format_integer(v, buf, len))
        return;
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    dot_decimal(buf);
}

/* Turns every number of the tree into raw text with exact digits. */
static void exact_numbers(cJSON *node)
{
    for (cJSON *c = node->child; c; c = c->next) {
        if (!cJSON_IsNumber(c)) {
            exact_numbers(c);
            continue;
        }
        char buf[NUM_TEXT];
        format_double(c->valuedouble, buf, sizeof buf);
        size_t n = strlen(buf) + 1;
        char *raw = cJSON_malloc(n);
        if (!raw)
            continue; /* out of memory: cJSON's own digits still parse */
        memcpy(raw, buf, n);
        c->valuestring = raw; /* freed by cJSON_Delete */
        c->type = cJSON_Raw | (c->type & cJSON_StringIsConst);
    }
}

/* The JSON report, streamed: the skeleton, then each list's elements one at
 * a time, so memory does not grow with the report. */
static int emit_json(FILE *out, const verify_result *r)
{
    cJSON *root = report_skeleton(r);
    jsonstream_source src = report_source(r);
    int rc = jsonstream_print(out, root, &src);
    cJSON_Delete(root);
    return rc;
}

char *report_json_string(const verify_result *r)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m)
        return NULL;
    int rc = emit_json(m, r);
    if (fclose(m) != 0 || rc < 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- writing files --------------------------------------------------------- */

/* The directory a checkpoint path stands for, resolved: itself, or the
 * directory of a single-file checkpoint. NULL when it cannot be resolved. */
static char *checkpoint_root(const char *p)
{
    char *real = p ? realpath(p, NULL) : NULL;
    struct stat st;
    if (!real || stat(real, &st) < 0 || S_ISDIR(st.st_mode))
        return real;
    char *d = util_dirname(real);
    free(real);
    return d;
}

/* Whether path lies in the directory root: some directory on its way up is
 * root itself, by identity (device and inode), so another spelling of it - a
 * bind mount, a second mount of the same volume - is seen too. */
static bool path_inside(const char *path, const char *root)
{
    struct stat r;
    if (stat(root, &r) < 0)
        return false;
    char *d = util_dirname(path);
    bool inside = false;
    for (;;) {
        struct stat st;
        if (stat(d, &st) == 0 && st.st_dev == r.st_dev && st.st_ino == r.st_ino) {
            inside = true;
            break;
        }
        if (strcmp(d, "/") == 0 || strcmp(d, ".") == 0)
            break;
        char *up = util_dirname(d);
        free(d);
        d = up;
    }
    free(d);
    return inside;
}

/* Nothing is ever written inside a checkpoint (SPEC §2), wherever the path
 * leads: "..", links to a directory or to a file. */
static int refuse_inside(const outfile *o, const char *src, const char *dst, char *err, size_t errlen)
{
    const char *real = outfile_real_path(o);
    const char *roots[2] = {src, dst}, *what[2] = {"source", "converted"};
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0 && real; i++) {
        char *root = checkpoint_root(roots[i]);
        if (root && path_inside(real, root)) {
            char shown[SHOWN], root_shown[SHOWN], real_shown[SHOWN], via[SHOWN + 32] = "";
            if (outfile_via_link(o))
                snprintf(via, sizeof via, " (a link to '%s')", text_escape(real, real_shown, sizeof real_shown));
            snprintf(err, errlen, "refusing to write report '%s'%s inside the %s checkpoint '%s'",
                     text_escape(outfile_path(o), shown, sizeof shown), via, what[i],
                     text_escape(roots[i], root_shown, sizeof root_shown));
            rc = -1;
        }
        free(root);
    }
    return rc;
}

int report_resolve_file(const char *path, const char *src, const char *dst, outfile **out, char *err,
                        size_t errlen)
{
    *out = NULL;
    outfile *o;
    if (outfile_resolve(path, &o, err, errlen) < 0)
        return -1;
    if (refuse_inside(o, src, dst, err, errlen) < 0) {
        outfile_close(o);
        return -1;
    }
    *out = o;
    return 0;
}

/* Writes a report to out: 0, or -1 with errno set. */
typedef int (*report_emit)(FILE *out, const verify_result *r);

/* Streams a report into o (a report on a million tensors is not held in
 * memory whole). */
static int emit_to(outfile *o, report_emit emit, const verify_result *r, char *err, size_t errlen)
{
    FILE *f = outfile_begin(o, err, errlen);
    if (!f)
        return -1;
    int emitted = emit(f, r), e = errno;
    int rc = outfile_finish(o, f, err, errlen);
    if (rc == 0 && emitted < 0) { /* out of memory building a piece: nothing kept */
        char shown[SHOWN];
        snprintf(err, errlen, "cannot write report '%s': %s",
                 text_escape(outfile_path(o), shown, sizeof shown), strerror(e));
        return -1;
    }
    return rc;
}

int report_write_json_to(const verify_result *r, outfile *o, char *err, size_t errlen)
{
    return emit_to(o, emit_json, r, err, errlen);
}

typedef int (*report_writer)(const verify_result *r, outfile *o, char *err, size_t errlen);

static int write_path(const verify_result *r, const char *path, report_writer to, char *err, size_t errlen)
{
    outfile *o;
    if (report_resolve_file(path, r->src, r->dst, &o, err, errlen) < 0)
        return -1;
    int rc = outfile_open(o, err, errlen) < 0 ? -1 : to(r, o, err, errlen);
    outfile_close(o);
    return rc;
}

int report_write_json(const verify_result *r, const char *path, char *err, size_t errlen)
{
    return write_path(r, path, report_write_json_to, err, errlen);
}

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
    verify_links *links;        /* which findings are on which tensor */
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
                       size_t n, bool fail)
{
    const finding *first = NULL;
    size_t others = 0;
    for (size_t i = 0; i < n; i++) {
        if (junit_failing(fs[i]) && !first)
            first = fs[i];
        others += !junit_failing(fs[i]);
    }
    fail = fail || first;
    j->tests++;
    j->failures += fail;
    if (!j->body)
        return; /* the counting pass */
    fprintf(j->body, "    <testcase classname=\"%s\" name=\"", classname);
    xml_put(j->body, name, true);
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
    junit_case(j, "tensors", shown, j->scratch, n, vt->status == VT_FAIL);
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
        junit_case(j, "other", f->id, j->scratch, n, false);
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
        junit_case(j, finding_group_name(fk->group), fk->id, j->scratch, n, false);
    }
    junit_others(j);
}

/* The policy the verdict rests on, as testsuite properties. */
static void junit_properties(FILE *out, const verify_result *r)
{
    fputs("    <properties>\n      <property name=\"policy.builtin\" value=\"", out);
    xml_put(out, r->builtin ? r->builtin : "default", true);
    fputs("\"/>\n", out);
    for (size_t i = 0; i < r->policy_file_count; i++) {
        const verify_policy_file *f = &r->policy_files[i];
        if (f->builtin)
            continue;
        fputs("      <property name=\"policy.file\" value=\"", out);
        xml_put(out, f->path, true);
        fprintf(out, " sha256:%s\"/>\n", f->sha256);
    }
    fprintf(out, "      <property name=\"waived\" value=\"%zu\"/>\n",
            r->findings ? findings_count_waived(r->findings) : 0);
    fputs("    </properties>\n", out);
}

/* The header needs the totals: one pass counts, a second writes, so the XML
 * streams to the file instead of growing in memory. */
static int emit_junit(FILE *out, const verify_result *r)
{
    junit j = {.r = r};
    j.links = verify_links_build(r);
    j.scratch = xmalloc(sizeof *j.scratch * (nfindings(r) + 1));
    junit_cases(&j);
    size_t tests = j.tests, failures = j.failures;
    double secs = isfinite(r->seconds) && r->seconds > 0 ? r->seconds : 0.0;
    char time[NUM_TEXT];
    snprintf(time, sizeof time, "%.3f", secs);
    dot_decimal(time);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
    fprintf(out, "<testsuites tests=\"%zu\" failures=\"%zu\" errors=\"0\" time=\"%s\">\n", tests,
            failures, time);
    fprintf(out, "  <testsuite name=\"mxfp4-check verify\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
                 "skipped=\"0\" time=\"%s\">\n",
            tests, failures, time);
    junit_properties(out, r);
    j.body = out;
    junit_cases(&j);
    fputs("  </testsuite>\n</testsuites>\n", out);
    verify_links_free(j.links);
    free(j.scratch);
    return ferror(out) ? -1 : 0;
}

int report_write_junit_to(const verify_result *r, outfile *o, char *err, size_t errlen)
{
    return emit_to(o, emit_junit, r, err, errlen);
}

int report_write_junit(const verify_result *r, const char *path, char *err, size_t errlen)
{
    return write_path(r, path, report_write_junit_to, err, errlen);
}

/* ---- terminal ---------------------------------------------------------- */

typedef struct {
    FILE *out;
    bool color;
} term;

static void put_colored(const term *t, const char *ansi, const char *text)
{
    if (t->color)
        fprintf(t->out, "%s%s%s", ansi, text, ANSI_RESET);
    else
        fputs(text, t->out);
}

static const char *status_color(vt_status s)
{
    return s == VT_FAIL ? ANSI_RED : s == VT_WARN ? ANSI_YELLOW : ANSI_GREEN;
}

static const char *severity_color(severity s)
{
    return s == SEV_ERROR ? ANSI_RED : s == SEV_WARN ? ANSI_YELLOW : "";
}

static void print_header(const term *t, const verify_result *r)
{
    char src[SHOWN], dst[SHOWN], bytes[64];
    fprintf(t->out, "mxfp4-check verify %s -> %s\n", text_escape(or_empty(r->src), src, sizeof src),
            text_escape(or_empty(r->dst), dst, sizeof dst));
    text_bytes(r->bytes_read, bytes, sizeof bytes);
    fprintf(t->out, "backend %s: %zu tensors (%zu quantized, %zu kept), %s read in %.2f s",
            r->backend ? r->backend : "-", r->tensor_count, r->quantized, r->kept, bytes, r->seconds);
    if (r->seconds > 0)
        fprintf(t->out, " (%.2f GB/s)", (double)r->bytes_read / r->seconds / 1e9);
    fputc('\n', t->out);
}

/* Higher is worse; a value that is not a number sorts as the worst. */
static double worse_key(double v)
{
    return isnan(v) ? INFINITY : v;
}

static double excess_key(const verify_tensor *t)
{
    return t->compared && t->kind == VT_QUANTIZED ? worse_key(t->stats.excess) : -1.0;
}

static double rel_l2_key(const verify_tensor *t)
{
    return t->compared ? worse_key(t->stats.rel_l2) : -1.0;
}

static int cmp_worst(const void *a, const void *b)
{
    const verify_tensor *x = *(const verify_tensor *const *)a, *y = *(const verify_tensor *const *)b;
    if (x->status != y->status)
        return x->status > y->status ? -1 : 1;
    double ex = excess_key(x), ey = excess_key(y);
    if (ex != ey)
        return ex > ey ? -1 : 1;
    double rx = rel_l2_key(x), ry = rel_l2_key(y);
    if (rx != ry)
        return rx > ry ? -1 : 1;
    return strcmp(or_empty(x->name), or_empty(y->name));
}

/* A percentage that never rounds up to 100.00 unless it is 100. */
static void format_percent(double v, char *buf, size_t len)
{
    if (!isfinite(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.2f", v >= 1.0 ? 100.0 : floor(v * 10000.0) / 100.0);
}

/* prec digits, in scientific notation when sci. */
static void format_value(double v, int prec, bool sci, char *buf, size_t len)
{
    if (isnan(v))
        snprintf(buf, len, "nan");
    else if (isinf(v))
        snprintf(buf, len, v > 0 ? "inf" : "-inf");
    else
        snprintf(buf, len, sci ? "%.*e" : "%.*f", prec, v);
}

static void print_row(const term *t, const verify_tensor *v, int wname)
{
    char name[SHOWN], rel[32] = "-", cos[32] = "-", mae[32] = "-", codes[32] = "-",
                      scales[32] = "-", excess[32] = "-", status[8];
    text_escape(or_empty(v->name), name, sizeof name);
    if (v->compared) {
        format_value(v->stats.rel_l2, 3, true, rel, sizeof rel);
        format_value(v->stats.cosine, 6, false, cos, sizeof cos);
        format_value(v->stats.max_abs_err, 3, true, mae, sizeof mae);
        if (v->kind == VT_QUANTIZED) {
            format_percent(v->stats.codes_identical, codes, sizeof codes);
            format_percent(v->stats.scales_identical, scales, sizeof scales);
            format_value(v->stats.excess, 3, false, excess, sizeof excess);
        }
    }
    snprintf(status, sizeof status, "%s", v->status == VT_FAIL ? "FAIL" : v->status == VT_WARN ? "WARN" : "pass");
    put_colored(t, status_color(v->status), status); /* padded outside the colour */
    fprintf(t->out, "%*s  %-*s  %-9s  %10s  %10s  %11s  %7s  %7s  %7s\n",
            (int)(sizeof "STATUS" - 1 - strlen(status)), "", wname, name,
            v->kind == VT_QUANTIZED ? "quantized" : "kept", rel, cos, mae, codes, scales, excess);
}

static void print_table(const term *t, const verify_result *r)
{
    if (r->tensor_count == 0) {
        fputs("no tensors compared\n", t->out);
        return;
    }
    /* kept tensors that pass are bit-identical: one line says so, rows would
     * only bury the quantized tensors */
    const verify_tensor **order = xmalloc(sizeof *order * r->tensor_count);
    size_t listed = 0, identical = 0;
    for (size_t i = 0; i < r->tensor_count; i++) {
        const verify_tensor *v = &r->tensors[i];
        if (v->kind == VT_KEPT && v->status == VT_PASS && v->compared && v->identical)
            identical++;
        else
            order[listed++] = v;
    }
    qsort(order, listed, sizeof *order, cmp_worst);
    size_t shown = listed < REPORT_HUMAN_ROWS ? listed : REPORT_HUMAN_ROWS;
    int wname = 6;
    char name[SHOWN];
    for (size_t i = 0; i < shown; i++) {
        int w = (int)strlen(text_escape(or_empty(order[i]->name), name, sizeof name));
        wname = w > wname ? w : wname;
    }
    fprintf(t->out, "\nSTATUS  %-*s  %-9s  %10s  %10s  %11s  %7s  %7s  %7s\n", wname, "TENSOR", "KIND",
            "REL_L2", "COSINE", "MAX_ABS_ERR", "CODES%", "SCALES%", "EXCESS");
    for (size_t i = 0; i < shown; i++)
        print_row(t, order[i], wname);
    size_t warn = 0, fail = 0;
    for (size_t i = shown; i < listed; i++) {
        warn += order[i]->status == VT_WARN;
        fail += order[i]->status == VT_FAIL;
    }
    if (shown < listed) {
        fprintf(t->out, "... %zu more tensors", listed - shown);
        if (warn || fail)
            fprintf(t->out, " (%zu fail, %zu warn; --json lists them all)\n", fail, warn);
        else
            fputs(" (all pass)\n", t->out);
    }
    if (identical)
        fprintf(t->out, "%zu kept tensor%s bit-identical to the source\n", identical,
                identical == 1 ? "" : "s");
    free(order);
}

/* Ids in SPEC order; ids outside it follow in the order they first appear. */
static const char *const spec_ids[] = {
    FIND_HEADER,        FIND_INDEX_MISMATCH, FIND_INDEX_TOTAL_SIZE, FIND_CONFIG_QUANT,
    FIND_FILES_COPIED,  FIND_PAIRING,        FIND_SCALE_NAN,        FIND_SHOULD_KEEP,
    FIND_SHOULD_QUANTIZE, FIND_MISSING,      FIND_EXTRA,            FIND_STALE_PATTERN,
    FIND_VIEW_MISMATCH, FIND_KEPT_MODIFIED,  FIND_THRESHOLD,        FIND_NONFINITE,
    FIND_REQUANT_MISMATCH, FIND_DIAGNOSIS,
};
#define N_SPEC_IDS (sizeof spec_ids / sizeof spec_ids[0])

static void print_id_count(const term *t, const verify_result *r, const char *id)
{
    size_t n[SEV_ERROR + 1] = {0}, total = 0, waived = 0;
    for (size_t i = 0; i < nfindings(r); i++) {
        const finding *f = live_finding(r, i);
        if (f && f->id && strcmp(f->id, id) == 0 && f->sev <= SEV_ERROR) {
            if (f->waived) /* counted apart, as the RESULT line does */
                waived++;
            else
                n[f->sev]++;
            total++;
        }
    }
    if (!total)
        return;
    char shown[SHOWN];
    fprintf(t->out, "  %-26s %6zu  (", text_escape(id, shown, sizeof shown), total);
    const char *sep = "";
    for (int s = SEV_ERROR; s >= SEV_INFO; s--) {
        if (n[s]) {
            fprintf(t->out, "%s%zu %s", sep, n[s], severity_name((severity)s));
            sep = ", ";
        }
    }
    if (waived)
        fprintf(t->out, "%s%zu waived", sep, waived);
    fputs(")\n", t->out);
}

static bool is_spec_id(const char *id)
{
    for (size_t k = 0; k < N_SPEC_IDS; k++)
        if (strcmp(spec_ids[k], id) == 0)
            return true;
    return false;
}

static void print_counts(const term *t, const verify_result *r)
{
    size_t live = 0;
    for (size_t i = 0; i < nfindings(r); i++)
        live += live_finding(r, i) != NULL;
    if (!live) {
        fputs("\nno findings\n", t->out);
        return;
    }
    fputs("\nfindings by id:\n", t->out);
    for (size_t k = 0; k < N_SPEC_IDS; k++)
        print_id_count(t, r, spec_ids[k]);
    id_set seen = {0};
    for (size_t i = 0; i < nfindings(r); i++) {
        const finding *f = live_finding(r, i);
        if (f && f->id && !is_spec_id(f->id) && id_set_add(&seen, f->id))
            print_id_count(t, r, f->id);
    }
    free(seen.ids);
}

/* " (rule ID, FILE:LINE)" and, for a waived finding, the waiver. */
static void print_provenance(const term *t, const finding *f)
{
    char id[SHOWN], file[SHOWN], reason[SHOWN];
    if (f->rule.file && f->rule.id)
        fprintf(t->out, " (rule %s, %s:%lu)", text_escape(f->rule.id, id, sizeof id),
                text_escape(f->rule.file, file, sizeof file), f->rule.line);
    else if (f->rule.file)
        fprintf(t->out, " (%s:%lu)", text_escape(f->rule.file, file, sizeof file), f->rule.line);
    if (f->waived)
        fprintf(t->out, "\n      waived by %s:%lu: %s%s%s", text_escape(or_empty(f->waiver.file), file, sizeof file),
                f->waiver.line, text_escape(or_empty(f->waiver_reason), reason, sizeof reason),
                f->waiver_expires ? ", until " : "", f->waiver_expires ? f->waiver_expires : "");
    fputc('\n', t->out);
}

static void print_findings(const term *t, const verify_result *r)
{
    bool any = false;
    for (int s = SEV_ERROR; s >= SEV_WARN; s--) {
        for (size_t i = 0; i < nfindings(r); i++) {
            const finding *f = live_finding(r, i);
            if (!f || f->sev != (severity)s)
                continue;
            char id[SHOWN];
            if (!any)
                fputc('\n', t->out);
            any = true;
            put_colored(t, severity_color(f->sev), severity_name(f->sev));
            /* messages are escaped by whoever made the finding */
            fprintf(t->out, "%s [%s] %s", f->sev == SEV_WARN ? " " : "",
                    text_escape(or_empty(f->id), id, sizeof id), or_empty(f->message));
            print_provenance(t, f);
        }
    }
}

static void print_result(const term *t, const verify_result *r)
{
    size_t errors = count_sev(r, SEV_ERROR), warnings = count_sev(r, SEV_WARN);
    size_t waived = r->findings ? findings_count_waived(r->findings) : 0;
    char counts[96] = "", line[128];
    size_t n = 0;
    if (errors)
        n += (size_t)snprintf(counts + n, sizeof counts - n, "%zu error%s", errors, errors == 1 ? "" : "s");
    if (errors || warnings)
        n += (size_t)snprintf(counts + n, sizeof counts - n, "%s%zu warning%s", n ? ", " : "", warnings,
                              warnings == 1 ? "" : "s");
    if (waived)
        snprintf(counts + n, sizeof counts - n, "%s%zu waived", n ? ", " : "", waived);
    fputc('\n', t->out);
    snprintf(line, sizeof line, "RESULT: %s%s%s%s", errors ? "FAIL" : "PASS", counts[0] ? " (" : "", counts,
             counts[0] ? ")" : "");
    put_colored(t, errors ? ANSI_BOLD_RED : ANSI_BOLD_GREEN, line);
    fputc('\n', t->out);
}

void report_print_human(const verify_result *r, FILE *out, bool color)
{
    term t = {out, color};
    print_header(&t, r);
    print_table(&t, r);
    print_counts(&t, r);
    print_findings(&t, r);
    print_result(&t, r);
    fflush(out);
}

bool report_use_color(FILE *out)
{
    int fd = out ? fileno(out) : -1;
    if (fd < 0 || !isatty(fd))
        return false;
    const char *no_color = getenv("NO_COLOR");
    if (no_color && *no_color)
        return false;
    const char *term_name = getenv("TERM");
    return !(term_name && strcmp(term_name, "dumb") == 0);
}

/* report_read.c - a JSON report read back into a result (report_read.h). */
#include "report_read.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonread.h"
#include "mxfp4.h"
#include "policy.h"
#include "report.h"
#include "report_common.h"
#include "safetensors.h"
#include "text.h"
#include "util.h"

#define WHERE_LEN 256

/* The members of the top level, in the order the writer puts them. */
static const char *const top_keys[] = {"schema", "result",   "src",     "dst",      "tool",    "policy",
                                       "scope",  "manifest", "summary", "findings", "coverage", "tensors"};
#define N_TOP (sizeof top_keys / sizeof top_keys[0])

typedef struct {
    verify_result *r;
    const char *display;
    char *err;
    size_t errlen;
    bool failed;
    char where[WHERE_LEN];   /* the member being read: "tensors[3].stats" */
    bool seen[N_TOP];
    bool passed;             /* "result" said pass */
    uint64_t summary[6];     /* tensors, quantized, kept, errors, warnings, waived */
    finding_rule *status_rule; /* per tensor: what its status_rule said (file NULL: null) */
    cJSON *coverage;         /* the coverage member, kept to check its lists against the findings */
    size_t tensors_cap, status_cap;
} reader;

enum { SUM_TENSORS, SUM_QUANTIZED, SUM_KEPT, SUM_ERRORS, SUM_WARNINGS, SUM_WAIVED };

static int fail(reader *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(reader *rd, const char *fmt, ...)
{
    if (rd->failed)
        return -1;
    char what[512], shown[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    text_escape(rd->display, shown, sizeof shown);
    if (rd->where[0])
        snprintf(rd->err, rd->errlen, "%s: not an mxfp4-check report: %s (at %s)", shown, what, rd->where);
    else
        snprintf(rd->err, rd->errlen, "%s: not an mxfp4-check report: %s", shown, what);
    rd->failed = true;
    return -1;
}

/* rd->where for the duration of one member: set, and restored by the caller
 * from the copy it keeps. */
static void enter(reader *rd, char *saved, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void enter(reader *rd, char *saved, const char *fmt, ...)
{
    memcpy(saved, rd->where, WHERE_LEN);
    size_t n = strlen(rd->where);
    if (n && n + 1 < WHERE_LEN && fmt[0] != '[')
        rd->where[n++] = '.';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rd->where + n, WHERE_LEN - n, fmt, ap);
    va_end(ap);
}

static void leave(reader *rd, const char *saved)
{
    memcpy(rd->where, saved, WHERE_LEN);
}

/* ---- members ----------------------------------------------------------------- */

/* obj is an object whose members are exactly keys[0..n) (all required). */
static int exact_members(reader *rd, const cJSON *obj, const char *const *keys, size_t n)
{
    if (!cJSON_IsObject(obj))
        return fail(rd, "not an object");
    size_t count = 0;
    for (const cJSON *c = obj->child; c; c = c->next, count++) {
        size_t k = 0;
        while (k < n && strcmp(keys[k], c->string) != 0)
            k++;
        if (k == n) {
            char shown[128];
            return fail(rd, "unknown member \"%s\"", text_escape(c->string, shown, sizeof shown));
        }
    }
    for (size_t k = 0; k < n; k++)
        if (!cJSON_GetObjectItemCaseSensitive(obj, keys[k]))
            return fail(rd, "no member \"%s\"", keys[k]);
    (void)count;
    return 0;
}

static const cJSON *member(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* A string member (NULL allowed when nullable): a copy in *out. */
static int read_string(reader *rd, const cJSON *obj, const char *key, bool nullable, char **out)
{
    const cJSON *v = member(obj, key);
    *out = NULL;
    if (nullable && cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return fail(rd, "\"%s\" is not a string%s", key, nullable ? " or null" : "");
    *out = xstrdup(v->valuestring);
    return 0;
}

/* A string that the writers print as it is (messages, reasons, versions):
 * our own writers escape what they put there, so a control or hidden
 * character means the report was made elsewhere - and could repaint a
 * terminal (a fake RESULT line). Refused. */
static int read_text(reader *rd, const cJSON *obj, const char *key, bool nullable, char **out)
{
    if (read_string(rd, obj, key, nullable, out) < 0)
        return -1;
    if (*out && !text_displayable(*out))
        return fail(rd, "\"%s\" holds control or hidden characters", key);
    return 0;
}

static bool is_date(const char *s)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || strspn(s, "0123456789-") != 10)
        return false;
    int month = (s[5] - '0') * 10 + (s[6] - '0'), day = (s[8] - '0') * 10 + (s[9] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

static int read_count_node(reader *rd, const cJSON *v, const char *key, uint64_t *out)
{
    if (!cJSON_IsNumber(v) || !jsonread_integer(v, out))
        return fail(rd, "\"%s\" is not a count (a non-negative integer)", key);
    return 0;
}

static int read_count(reader *rd, const cJSON *obj, const char *key, uint64_t *out)
{
    return read_count_node(rd, member(obj, key), key, out);
}

/* A number, or null for a value JSON cannot hold (null_is: what it reads as). */
static int read_real(reader *rd, const cJSON *obj, const char *key, double null_is, double *out)
{
    const cJSON *v = member(obj, key);
    if (cJSON_IsNull(v)) {
        *out = null_is;
        return 0;
    }
    if (!cJSON_IsNumber(v))
        return fail(rd, "\"%s\" is not a number or null", key);
    *out = v->valuedouble;
    return 0;
}

static int read_bool(reader *rd, const cJSON *obj, const char *key, bool *out)
{
    const cJSON *v = member(obj, key);
    if (!cJSON_IsBool(v))
        return fail(rd, "\"%s\" is not true or false", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

static int read_strings(reader *rd, const cJSON *obj, const char *key, char ***out, size_t *n)
{
    const cJSON *a = member(obj, key);
    *out = NULL;
    *n = 0;
    if (!cJSON_IsArray(a))
        return fail(rd, "\"%s\" is not an array", key);
    size_t count = (size_t)cJSON_GetArraySize(a), i = 0;
    *out = xcalloc(count + 1, sizeof **out);
    for (const cJSON *c = a->child; c; c = c->next, i++) {
        if (!cJSON_IsString(c))
            return fail(rd, "\"%s\"[%zu] is not a string", key, i);
        (*out)[(*n)++] = xstrdup(c->valuestring);
    }
    return 0;
}

/* {"id", "file", "line"} or null into r (owned copies). */
static int read_rule(reader *rd, const cJSON *v, const char *key, finding_rule *r)
{
    memset(r, 0, sizeof *r);
    if (cJSON_IsNull(v))
        return 0;
    char saved[WHERE_LEN];
    enter(rd, saved, "%s", key);
    static const char *const keys[] = {"id", "file", "line"};
    char *id = NULL, *file = NULL;
    uint64_t line = 0;
    int rc = exact_members(rd, v, keys, 3);
    if (rc == 0)
        rc = read_string(rd, v, "id", true, &id);
    if (rc == 0)
        rc = read_string(rd, v, "file", false, &file);
    if (rc == 0)
        rc = read_count(rd, v, "line", &line);
    if (rc == 0 && line > ULONG_MAX)
        rc = fail(rd, "\"line\" is too large");
    if (rc == 0)
        finding_set_rule(r, id, file, (unsigned long)line);
    free(id);
    free(file);
    leave(rd, saved);
    return rc;
}

/* ---- the small members ----------------------------------------------------------- */

static int read_tool(reader *rd, const cJSON *v)
{
    static const char *const keys[] = {"version", "backend", "devices", "argv", "started"};
    result_tool *t = &rd->r->tool;
    if (exact_members(rd, v, keys, 5) < 0 || read_text(rd, v, "version", false, &t->version) < 0 ||
        read_string(rd, v, "backend", true, &t->backend) < 0 ||
        read_strings(rd, v, "devices", &t->devices, &t->device_count) < 0 ||
        read_strings(rd, v, "argv", &t->argv, &t->argc) < 0)
        return -1;
    if (t->backend && strcmp(t->backend, "cpu") != 0 && strcmp(t->backend, "cuda") != 0)
        return fail(rd, "\"backend\" is neither cpu nor cuda");
    for (size_t i = 0; i < t->device_count; i++)
        if (!text_displayable(t->devices[i]))
            return fail(rd, "\"devices\" holds control or hidden characters");
    const cJSON *st = member(v, "started");
    if (cJSON_IsNull(st))
        return 0;
    if (!cJSON_IsString(st) || strlen(st->valuestring) != 20 || st->valuestring[10] != 'T' ||
        st->valuestring[19] != 'Z')
        return fail(rd, "\"started\" is not a time like 2026-12-02T05:20:07Z");
    snprintf(t->started, sizeof t->started, "%s", st->valuestring);
    return 0;
}

static int read_policy(reader *rd, const cJSON *v)
{
    static const char *const keys[] = {"files", "builtin"}, *const fkeys[] = {"path", "sha256"};
    verify_result *r = rd->r;
    if (exact_members(rd, v, keys, 2) < 0 || read_string(rd, v, "builtin", false, &r->builtin) < 0)
        return -1;
    if (strcmp(r->builtin, "default") != 0 && strcmp(r->builtin, "strict") != 0 && strcmp(r->builtin, "gpt-oss") != 0)
        return fail(rd, "\"builtin\" is not default, strict or gpt-oss");
    const cJSON *files = member(v, "files");
    if (!cJSON_IsArray(files))
        return fail(rd, "\"files\" is not an array");
    size_t n = (size_t)cJSON_GetArraySize(files), i = 0;
    r->policy_files = xcalloc(n + 1, sizeof *r->policy_files);
    for (const cJSON *f = files->child; f; f = f->next, i++) {
        char saved[WHERE_LEN], *sha = NULL;
        enter(rd, saved, "files[%zu]", i);
        verify_policy_file *pf = &r->policy_files[r->policy_file_count];
        int rc = exact_members(rd, f, fkeys, 2);
        if (rc == 0 && (rc = read_string(rd, f, "path", false, &pf->path)) == 0)
            r->policy_file_count++;
        if (rc == 0)
            rc = read_string(rd, f, "sha256", false, &sha);
        if (rc == 0 && strlen(sha) != 64)
            rc = fail(rd, "\"sha256\" is not 64 hex digits");
        if (rc == 0)
            snprintf(pf->sha256, sizeof pf->sha256, "%s", sha);
        free(sha);
        leave(rd, saved);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* scope.plan of a partial report: its findings' phases must add up to its
 * findings and its run of tensors lie inside the plan (check_consistent). */
static int read_part(reader *rd, const cJSON *v, result_part *p)
{
    static const char *const keys[] = {"digest", "tensors", "first", "count", "findings"};
    static const char *const phases[PART_PHASE_COUNT] = {"checkpoint", "numerics", "diagnosis", "policy"};
    char saved[WHERE_LEN], *digest = NULL;
    if (cJSON_IsNull(v))
        return 0;
    enter(rd, saved, "plan");
    int rc = exact_members(rd, v, keys, 5);
    if (rc == 0)
        rc = read_string(rd, v, "digest", false, &digest);
    if (rc == 0 && (strlen(digest) != 64 || strspn(digest, "0123456789abcdef") != 64))
        rc = fail(rd, "\"digest\" is not 64 lowercase hex digits");
    if (rc == 0)
        memcpy(p->digest, digest, 65);
    free(digest);
    if (rc == 0 && (read_count(rd, v, "tensors", &p->tensors) < 0 || read_count(rd, v, "first", &p->first) < 0 ||
                    read_count(rd, v, "count", &p->count) < 0))
        rc = -1;
    if (rc == 0 && (p->first > p->tensors || p->count > p->tensors - p->first))
        rc = fail(rd, "tensors [first, first + count) are not inside the plan's");
    const cJSON *f = member(v, "findings");
    if (rc == 0)
        rc = exact_members(rd, f, phases, PART_PHASE_COUNT);
    for (int k = 0; k < PART_PHASE_COUNT && rc == 0; k++)
        rc = read_count(rd, f, phases[k], &p->findings[k]);
    p->present = rc == 0;
    leave(rd, saved);
    return rc;
}

static int read_scope(reader *rd, const cJSON *v)
{
    static const char *const keys[] = {"only", "shard", "complete", "plan"};
    result_scope *s = &rd->r->scope;
    if (exact_members(rd, v, keys, 4) < 0 || read_string(rd, v, "only", true, &s->only) < 0 ||
        read_string(rd, v, "shard", true, &s->shard) < 0 || read_bool(rd, v, "complete", &s->complete) < 0 ||
        read_part(rd, member(v, "plan"), &s->part) < 0)
        return -1;
    if (s->complete && (s->only || s->shard))
        return fail(rd, "\"complete\" is true for a run limited by --only or --shard");
    if (s->part.present && !s->shard)
        return fail(rd, "\"plan\" is given for a run without --shard");
    return 0;
}

static int read_files(reader *rd, const cJSON *v, const char *key, result_file **out, size_t *count)
{
    static const char *const keys[] = {"file", "bytes", "sha256"};
    const cJSON *a = member(v, key);
    if (!cJSON_IsArray(a))
        return fail(rd, "\"%s\" is not an array", key);
    size_t n = (size_t)cJSON_GetArraySize(a), i = 0;
    *out = xcalloc(n + 1, sizeof **out);
    for (const cJSON *f = a->child; f; f = f->next, i++) {
        char saved[WHERE_LEN];
        enter(rd, saved, "%s[%zu]", key, i);
        result_file *rf = &(*out)[*count];
        const cJSON *sha = member(f, "sha256");
        int rc = exact_members(rd, f, keys, 3);
        if (rc == 0 && (rc = read_string(rd, f, "file", false, &rf->file)) == 0)
            (*count)++;
        if (rc == 0)
            rc = read_count(rd, f, "bytes", &rf->bytes);
        if (rc == 0 && !cJSON_IsNull(sha)) {
            if (!cJSON_IsString(sha) || strlen(sha->valuestring) != 64 ||
                strspn(sha->valuestring, "0123456789abcdef") != 64)
                rc = fail(rd, "\"sha256\" is not 64 lowercase hex digits or null");
            else {
                snprintf(rf->sha256, sizeof rf->sha256, "%s", sha->valuestring);
                rf->hashed = true;
            }
        }
        leave(rd, saved);
        if (rc < 0)
            return -1;
        if (i > 0 && strcmp((*out)[i - 1].file, rf->file) >= 0)
            return fail(rd, "\"%s\" is not sorted by file name", key);
    }
    return 0;
}

static int read_manifest(reader *rd, const cJSON *v)
{
    static const char *const keys[] = {"src", "dst"};
    result_manifest *m = &rd->r->manifest;
    if (exact_members(rd, v, keys, 2) < 0 || read_files(rd, v, "src", &m->src, &m->src_count) < 0)
        return -1;
    return read_files(rd, v, "dst", &m->dst, &m->dst_count);
}

static int read_summary(reader *rd, const cJSON *v)
{
    static const char *const keys[] = {"tensors", "quantized", "kept",       "errors",
                                       "warnings", "waived",   "bytes_read", "seconds"};
    if (exact_members(rd, v, keys, 8) < 0)
        return -1;
    for (int k = 0; k < 6; k++)
        if (read_count(rd, v, keys[k], &rd->summary[k]) < 0)
            return -1;
    if (read_count(rd, v, "bytes_read", &rd->r->bytes_read) < 0 ||
        read_real(rd, v, "seconds", NAN, &rd->r->seconds) < 0)
        return -1;
    return 0;
}

static int read_pattern(reader *rd, const cJSON *p, size_t i)
{
    static const char *const keys[] = {"pattern", "matched", "matched_loader"};
    verify_result *r = rd->r;
    char saved[WHERE_LEN];
    enter(rd, saved, "patterns[%zu]", i);
    verify_pattern *vp = &r->patterns[r->pattern_count];
    int rc = exact_members(rd, p, keys, 3);
    if (rc == 0 && (rc = read_string(rd, p, "pattern", false, &vp->pattern)) == 0)
        r->pattern_count++;
    if (rc == 0)
        rc = read_count(rd, p, "matched", &vp->matched);
    if (rc == 0)
        rc = read_count(rd, p, "matched_loader", &vp->matched_loader);
    leave(rd, saved);
    return rc;
}

/* The coverage lists are the writer's digest of the findings: their shape is
 * checked here, their content against the findings once all is read. */
static int read_coverage(reader *rd, const cJSON *v)
{
    static const char *const keys[] = {"patterns", "should_keep",    "should_quantize", "missing",
                                       "extra",    "stale_patterns", "view_mismatch"};
    if (exact_members(rd, v, keys, 7) < 0)
        return -1;
    const cJSON *ps = member(v, "patterns");
    if (!cJSON_IsArray(ps))
        return fail(rd, "\"patterns\" is not an array");
    rd->r->patterns = xcalloc((size_t)cJSON_GetArraySize(ps) + 1, sizeof *rd->r->patterns);
    size_t i = 0;
    for (const cJSON *p = ps->child; p; p = p->next, i++)
        if (read_pattern(rd, p, i) < 0)
            return -1;
    for (size_t k = 1; k < 7; k++) {
        const cJSON *a = member(v, keys[k]);
        if (!cJSON_IsArray(a))
            return fail(rd, "\"%s\" is not an array", keys[k]);
        for (const cJSON *c = a->child; c; c = c->next)
            if (!cJSON_IsString(c))
                return fail(rd, "\"%s\" holds something other than names", keys[k]);
    }
    rd->coverage = cJSON_Duplicate(v, true);
    return 0;
}

/* ---- findings ------------------------------------------------------------------- */

static int parse_severity(const char *s, severity *out)
{
    static const severity all[] = {SEV_ERROR, SEV_WARN, SEV_INFO};
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(severity_name(all[i]), s) == 0) {
            *out = all[i];
            return 0;
        }
    }
    return -1;
}

static int read_waiver(reader *rd, const cJSON *v, finding *f)
{
    if (cJSON_IsNull(v))
        return 0;
    static const char *const keys[] = {"reason", "expires", "rule"};
    char saved[WHERE_LEN], *reason = NULL, *expires = NULL;
    enter(rd, saved, "waived");
    finding_rule rule;
    memset(&rule, 0, sizeof rule);
    int rc = exact_members(rd, v, keys, 3);
    if (rc == 0)
        rc = read_text(rd, v, "reason", false, &reason);
    if (rc == 0)
        rc = read_text(rd, v, "expires", true, &expires);
    if (rc == 0 && expires && !is_date(expires))
        rc = fail(rd, "\"expires\" is not a date YYYY-MM-DD");
    if (rc == 0 && !reason[0])
        rc = fail(rd, "a waiver without a reason");
    if (rc == 0)
        rc = read_rule(rd, member(v, "rule"), "rule", &rule);
    if (rc == 0 && !rule.file) /* waivers live in rule files, always with their place */
        rc = fail(rd, "a waiver without the rule file that grants it");
    if (rc == 0)
        finding_set_waiver(f, reason, expires, rule.id, rule.file, rule.line);
    finding_set_rule(&rule, NULL, NULL, 0);
    free(reason);
    free(expires);
    leave(rd, saved);
    return rc;
}

static int read_finding(reader *rd, const cJSON *v)
{
    static const char *const base[] = {"id", "severity", "tensor", "file", "message", "rule", "waived"};
    char *id = NULL, *sev_text = NULL, *tensor = NULL, *file = NULL, *message = NULL;
    int rc = 0;
    bool diagnosis = cJSON_IsObject(v) && cJSON_IsString(member(v, "id")) &&
                     strcmp(member(v, "id")->valuestring, FIND_DIAGNOSIS) == 0;
    const cJSON *cause = diagnosis ? member(v, "cause") : NULL;
    bool has_k = cause && cJSON_IsString(cause) && finding_cause_has(cause->valuestring, CAUSE_SCALE_BIAS);
    const char *keys[10];
    size_t n = 0;
    for (size_t i = 0; i < 7; i++)
        keys[n++] = base[i];
    if (diagnosis) /* a diagnosis always names its cause (SPEC §3) */
        keys[n++] = "cause";
    if (has_k)
        keys[n++] = "k";
    severity sev = SEV_ERROR;
    rc = exact_members(rd, v, keys, n);
    if (rc == 0)
        rc = read_string(rd, v, "id", false, &id);
    if (rc == 0 && !finding_kind_find(id)) {
        char shown[128];
        rc = fail(rd, "unknown finding id \"%s\"", text_escape(id, shown, sizeof shown));
    }
    if (rc == 0)
        rc = read_string(rd, v, "severity", false, &sev_text);
    if (rc == 0 && parse_severity(sev_text, &sev) < 0)
        rc = fail(rd, "\"severity\" is not error, warn or info");
    if (rc == 0)
        rc = read_string(rd, v, "tensor", true, &tensor);
    if (rc == 0)
        rc = read_string(rd, v, "file", true, &file);
    if (rc == 0)
        rc = read_text(rd, v, "message", false, &message);
    finding *f = NULL;
    if (rc == 0) {
        f = findings_add(rd->r->findings, id, sev, tensor, file, "%s", message);
        finding_rule rule;
        rc = read_rule(rd, member(v, "rule"), "rule", &rule);
        if (rc == 0)
            finding_set_rule(&f->rule, rule.id, rule.file, rule.line);
        finding_set_rule(&rule, NULL, NULL, 0);
    }
    if (rc == 0)
        rc = read_waiver(rd, member(v, "waived"), f);
    if (rc == 0 && cause) {
        if (!cJSON_IsString(cause) || !finding_cause_valid(cause->valuestring))
            rc = fail(rd, "\"cause\" is not one or more of missing_transpose, nibble_swap, nibble_split, "
                          "scale_bias, scale_signed joined by '+' in that order");
        else
            f->cause = xstrdup(cause->valuestring);
    }
    if (rc == 0 && has_k) {
        const cJSON *k = member(v, "k");
        if (!cJSON_IsNumber(k) || k->valuedouble != floor(k->valuedouble) || fabs(k->valuedouble) > 255)
            rc = fail(rd, "\"k\" is not an integer from -255 to 255");
        else
            f->scale_bias_k = (int)k->valuedouble;
    }
    free(id);
    free(sev_text);
    free(tensor);
    free(file);
    free(message);
    return rc;
}

/* ---- tensors -------------------------------------------------------------------- */

static int read_shape(reader *rd, const cJSON *v, verify_tensor *t)
{
    const cJSON *a = member(v, "shape");
    if (!cJSON_IsArray(a))
        return fail(rd, "\"shape\" is not an array");
    int rank = cJSON_GetArraySize(a);
    if (rank > ST_MAX_RANK)
        return fail(rd, "\"shape\" has more than %d dimensions", ST_MAX_RANK);
    t->rank = rank;
    t->shape = xcalloc((size_t)(rank ? rank : 1), sizeof *t->shape);
    int i = 0;
    for (const cJSON *c = a->child; c; c = c->next, i++)
        if (read_count_node(rd, c, "shape", &t->shape[i]) < 0)
            return -1;
    return 0;
}

/* max_abs_err_index: coordinates of the shape back to the linear index
 * (UINT64_MAX for null: it names no element, and is written as null again). */
static int read_index(reader *rd, const cJSON *s, verify_tensor *t)
{
    const cJSON *a = member(s, "max_abs_err_index");
    if (cJSON_IsNull(a)) {
        t->stats.max_abs_err_index = UINT64_MAX;
        return 0;
    }
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != t->rank)
        return fail(rd, "\"max_abs_err_index\" is not %d coordinates", t->rank);
    uint64_t idx = 0;
    int i = 0;
    for (const cJSON *c = a->child; c; c = c->next, i++) {
        uint64_t x;
        if (read_count_node(rd, c, "max_abs_err_index", &x) < 0)
            return -1;
        if (x >= t->shape[i] || !ckd_mul_u64(&idx, idx, t->shape[i]) || !ckd_add_u64(&idx, idx, x))
            return fail(rd, "\"max_abs_err_index\" lies outside the shape");
    }
    t->stats.max_abs_err_index = idx;
    return 0;
}

static int read_stats(reader *rd, const cJSON *v, verify_tensor *t)
{
    const cJSON *s = member(v, "stats");
    if (cJSON_IsNull(s))
        return 0;
    static const char *const keys[] = {"max_abs_err", "max_abs_err_index", "mean_abs_err", "rmse",
                                       "rel_l2",      "cosine",            "snr_db",       "nonfinite",
                                       "equal_fraction"};
    char saved[WHERE_LEN];
    enter(rd, saved, "stats");
    stats_result *st = &t->stats;
    t->compared = true;
    int rc = exact_members(rd, s, keys, 9);
    if (rc == 0)
        rc = read_index(rd, s, t);
    if (rc == 0 && (read_real(rd, s, "max_abs_err", NAN, &st->max_abs_err) < 0 ||
                    read_real(rd, s, "mean_abs_err", NAN, &st->mean_abs_err) < 0 ||
                    read_real(rd, s, "rmse", NAN, &st->rmse) < 0 ||
                    read_real(rd, s, "rel_l2", NAN, &st->rel_l2) < 0 ||
                    read_real(rd, s, "cosine", NAN, &st->cosine) < 0 ||
                    read_real(rd, s, "snr_db", INFINITY, &st->snr_db) < 0 ||
                    read_count(rd, s, "nonfinite", &st->nonfinite) < 0 ||
                    read_real(rd, s, "equal_fraction", NAN, &st->equal_fraction) < 0))
        rc = -1;
    leave(rd, saved);
    return rc;
}

static int read_requant(reader *rd, const cJSON *v, verify_tensor *t)
{
    static const char *const keys[] = {"codes_identical", "scales_identical", "ref_rel_l2", "excess"};
    char saved[WHERE_LEN];
    enter(rd, saved, "requant");
    stats_result *st = &t->stats;
    int rc = exact_members(rd, v, keys, 4);
    if (rc == 0 && (read_real(rd, v, "codes_identical", NAN, &st->codes_identical) < 0 ||
                    read_real(rd, v, "scales_identical", NAN, &st->scales_identical) < 0 ||
                    read_real(rd, v, "ref_rel_l2", NAN, &st->ref_rel_l2) < 0 ||
                    read_real(rd, v, "excess", INFINITY, &st->excess) < 0))
        rc = -1;
    leave(rd, saved);
    return rc;
}

/* {"min", "max", "counts": {"e": n}, "nan": n}: exponents e = byte - 127. */
static int read_histogram(reader *rd, const cJSON *v, verify_tensor *t)
{
    static const char *const keys[] = {"min", "max", "counts", "nan"};
    char saved[WHERE_LEN];
    enter(rd, saved, "scale_hist");
    uint64_t full[SCALE_HIST_BYTES] = {0};
    int lo = -1, hi = -1, rc = exact_members(rd, v, keys, 4);
    const cJSON *counts = member(v, "counts");
    if (rc == 0 && !cJSON_IsObject(counts))
        rc = fail(rd, "\"counts\" is not an object");
    for (const cJSON *c = rc == 0 ? counts->child : NULL; c && rc == 0; c = c->next) {
        char *end;
        long e = strtol(c->string, &end, 10);
        char canonical[16];
        snprintf(canonical, sizeof canonical, "%ld", e);
        long b = e + MXFP4_SCALE_BIAS;
        if (*end || strcmp(canonical, c->string) != 0 || b < 0 || b >= (long)MXFP4_SCALE_NAN)
            rc = fail(rd, "\"counts\" has a key that is no scale exponent");
        else if ((rc = read_count_node(rd, c, "counts", &full[b])) == 0 && full[b] == 0)
            rc = fail(rd, "\"counts\" has a zero count");
        else if (rc == 0 && hi >= 0 && b <= hi)
            rc = fail(rd, "\"counts\" is not in ascending order");
        if (rc == 0) {
            lo = lo < 0 ? (int)b : lo;
            hi = (int)b;
        }
    }
    if (rc == 0)
        rc = read_count(rd, v, "nan", &full[MXFP4_SCALE_NAN]);
    const cJSON *mn = member(v, "min"), *mx = member(v, "max");
    if (rc == 0 && lo < 0 && !(cJSON_IsNull(mn) && cJSON_IsNull(mx)))
        rc = fail(rd, "\"min\" and \"max\" must be null without counts");
    if (rc == 0 && lo >= 0 &&
        !(cJSON_IsNumber(mn) && cJSON_IsNumber(mx) && mn->valuedouble == lo - MXFP4_SCALE_BIAS &&
          mx->valuedouble == hi - MXFP4_SCALE_BIAS))
        rc = fail(rd, "\"min\" and \"max\" are not the extremes of \"counts\"");
    if (rc == 0)
        scale_hist_set(&t->scale_hist, full);
    leave(rd, saved);
    return rc;
}

static bool same_limit(const verify_limit *a, const verify_limit *b)
{
    return a->key == b->key && (a->value == b->value || (isnan(a->value) && isnan(b->value))) &&
           a->rule_line == b->rule_line && strcmp(a->rule_id ? a->rule_id : "", b->rule_id ? b->rule_id : "") == 0 &&
           strcmp(a->rule_file ? a->rule_file : "", b->rule_file ? b->rule_file : "") == 0;
}

/* The limit set equal to items[0..n), made once (a million tensors, a
 * handful of sets); takes the items. */
static uint32_t intern_limits(verify_result *r, verify_limit *items, size_t n)
{
    for (size_t k = 0; k < r->limit_set_count; k++) {
        const verify_limit_set *s = &r->limit_sets[k];
        bool same = s->n == n;
        for (size_t i = 0; same && i < n; i++)
            same = same_limit(&s->items[i], &items[i]);
        if (same) {
            for (size_t i = 0; i < n; i++) {
                free(items[i].rule_id);
                free(items[i].rule_file);
            }
            free(items);
            return (uint32_t)k;
        }
    }
    r->limit_sets = xrealloc(r->limit_sets, (r->limit_set_count + 1) * sizeof *r->limit_sets);
    r->limit_sets[r->limit_set_count] = (verify_limit_set){items, n};
    return (uint32_t)r->limit_set_count++;
}

static int read_limits(reader *rd, const cJSON *v, verify_tensor *t)
{
    const cJSON *o = member(v, "limits");
    t->limits = VERIFY_NO_LIMITS;
    if (!cJSON_IsObject(o))
        return fail(rd, "\"limits\" is not an object");
    size_t n = (size_t)cJSON_GetArraySize(o), i = 0;
    if (n == 0)
        return 0;
    verify_limit *items = xcalloc(n, sizeof *items);
    int rc = 0;
    static const char *const keys[] = {"value", "rule"};
    for (const cJSON *c = o->child; c && rc == 0; c = c->next) {
        char saved[WHERE_LEN];
        enter(rd, saved, "limits.%s", c->string);
        policy_check pc;
        finding_rule rule;
        memset(&rule, 0, sizeof rule);
        if (!policy_check_from_key(c->string, &pc) || pc >= PC_LIMIT_COUNT)
            rc = fail(rd, "not a limit of the policy");
        if (rc == 0)
            rc = exact_members(rd, c, keys, 2);
        if (rc == 0)
            rc = read_real(rd, c, "value", NAN, &items[i].value);
        if (rc == 0)
            rc = read_rule(rd, member(c, "rule"), "rule", &rule);
        if (rc == 0) {
            const policy_check_info *info = policy_check_at(pc);
            items[i].key = info->key;
            items[i].stat = info->stat;
            items[i].lower_bound = info->lower_bound;
            items[i].rule_id = rule.id;
            items[i].rule_file = rule.file;
            items[i].rule_line = rule.line;
            i++;
        } else {
            finding_set_rule(&rule, NULL, NULL, 0);
        }
        leave(rd, saved);
    }
    if (rc < 0) {
        for (size_t k = 0; k < i; k++) {
            free(items[k].rule_id);
            free(items[k].rule_file);
        }
        free(items);
        return -1;
    }
    t->limits = intern_limits(rd->r, items, n);
    return 0;
}

static int read_tensor(reader *rd, const cJSON *v)
{
    verify_result *r = rd->r;
    xgrow(&r->tensors, &rd->tensors_cap, r->tensor_count + 1, sizeof *r->tensors);
    xgrow(&rd->status_rule, &rd->status_cap, r->tensor_count + 1, sizeof *rd->status_rule);
    verify_tensor *t = &r->tensors[r->tensor_count];
    memset(t, 0, sizeof *t);
    memset(&rd->status_rule[r->tensor_count], 0, sizeof *rd->status_rule);
    t->limits = VERIFY_NO_LIMITS;
    t->status_finding = -1;
    r->tensor_count++; /* owned from here: freed with the result whatever follows */
    bool quantized = cJSON_IsObject(v) && cJSON_IsString(member(v, "kind")) &&
                     strcmp(member(v, "kind")->valuestring, "quantized") == 0;
    bool compared = cJSON_IsObject(v) && cJSON_IsObject(member(v, "stats"));
    bool has_hist = cJSON_IsObject(v) && member(v, "scale_hist");
    const char *keys[12] = {"name", "kind", "status", "status_rule", "limits", "shape", "bytes", "stats"};
    size_t n = 8;
    if (quantized && compared)
        keys[n++] = "requant";
    if (quantized && has_hist)
        keys[n++] = "scale_hist";
    char *kind = NULL, *status = NULL;
    int rc = exact_members(rd, v, keys, n);
    if (rc == 0)
        rc = read_string(rd, v, "name", false, &t->name);
    if (rc == 0 && r->tensor_count > 1 && strcmp(r->tensors[r->tensor_count - 2].name, t->name) >= 0)
        rc = fail(rd, "tensors are not sorted by name, or a name is there twice");
    if (rc == 0)
        rc = read_string(rd, v, "kind", false, &kind);
    if (rc == 0 && strcmp(kind, "quantized") != 0 && strcmp(kind, "kept") != 0)
        rc = fail(rd, "\"kind\" is neither quantized nor kept");
    if (rc == 0) {
        t->kind = quantized ? VT_QUANTIZED : VT_KEPT;
        r->quantized += quantized;
        r->kept += !quantized;
        rc = read_string(rd, v, "status", false, &status);
    }
    if (rc == 0) {
        if (strcmp(status, "pass") == 0)
            t->status = VT_PASS;
        else if (strcmp(status, "warn") == 0)
            t->status = VT_WARN;
        else if (strcmp(status, "fail") == 0)
            t->status = VT_FAIL;
        else
            rc = fail(rd, "\"status\" is not pass, warn or fail");
    }
    if (rc == 0)
        rc = read_rule(rd, member(v, "status_rule"), "status_rule", &rd->status_rule[r->tensor_count - 1]);
    if (rc == 0)
        rc = read_limits(rd, v, t);
    if (rc == 0)
        rc = read_shape(rd, v, t);
    const cJSON *bytes = member(v, "bytes");
    static const char *const bkeys[] = {"src", "dst"};
    if (rc == 0) {
        char saved[WHERE_LEN];
        enter(rd, saved, "bytes");
        rc = exact_members(rd, bytes, bkeys, 2);
        if (rc == 0)
            rc = read_count(rd, bytes, "src", &t->bytes_src);
        if (rc == 0)
            rc = read_count(rd, bytes, "dst", &t->bytes_dst);
        leave(rd, saved);
    }
    if (rc == 0)
        rc = read_stats(rd, v, t);
    if (rc == 0 && quantized && compared)
        rc = read_requant(rd, member(v, "requant"), t);
    if (rc == 0 && quantized && has_hist)
        rc = read_histogram(rd, member(v, "scale_hist"), t);
    if (rc == 0 && quantized && compared && !has_hist)
        rc = fail(rd, "a compared quantized tensor without \"scale_hist\"");
    free(kind);
    free(status);
    return rc;
}

/* ---- the document ---------------------------------------------------------------- */

static int top_index(const char *name)
{
    for (size_t k = 0; k < N_TOP; k++)
        if (strcmp(top_keys[k], name) == 0)
            return (int)k;
    return -1;
}

/* Marks a top-level member seen; a second one of a name is refused. */
static int see(reader *rd, const char *name)
{
    int k = top_index(name);
    char shown[128];
    if (k < 0)
        return fail(rd, "unknown member \"%s\"", text_escape(name, shown, sizeof shown));
    if (rd->seen[k])
        return fail(rd, "duplicate member \"%s\"", name);
    rd->seen[k] = true;
    return k;
}

static int on_member(const char *name, cJSON *v, void *ctx)
{
    reader *rd = ctx;
    int k = see(rd, name);
    if (k < 0 || !v) /* !v: a streamed list, its elements follow */
        return k < 0 ? -1 : 0;
    char saved[WHERE_LEN];
    enter(rd, saved, "%s", name);
    verify_result *r = rd->r;
    int rc = 0;
    switch (k) {
    case 0:
        if (!cJSON_IsString(v) || strcmp(v->valuestring, REPORT_SCHEMA) != 0)
            rc = fail(rd, "the schema is not " REPORT_SCHEMA);
        break;
    case 1:
        if (!cJSON_IsString(v) || (strcmp(v->valuestring, "pass") != 0 && strcmp(v->valuestring, "fail") != 0))
            rc = fail(rd, "not \"pass\" or \"fail\"");
        else
            rd->passed = strcmp(v->valuestring, "pass") == 0;
        break;
    case 2:
    case 3:
        if (!cJSON_IsString(v)) {
            rc = fail(rd, "not a string");
        } else {
            char **side = k == 2 ? &r->src : &r->dst;
            free(*side);
            *side = xstrdup(v->valuestring);
        }
        break;
    case 4: rc = read_tool(rd, v); break;
    case 5: rc = read_policy(rd, v); break;
    case 6: rc = read_scope(rd, v); break;
    case 7: rc = read_manifest(rd, v); break;
    case 8: rc = read_summary(rd, v); break;
    case 10: rc = read_coverage(rd, v); break;
    default: rc = fail(rd, "not an array"); break; /* findings, tensors: streamed */
    }
    leave(rd, saved);
    return rc;
}

static bool streams(const char *name, void *ctx)
{
    (void)ctx;
    return strcmp(name, "findings") == 0 || strcmp(name, "tensors") == 0;
}

static int on_element(const char *name, size_t index, cJSON *v, void *ctx)
{
    reader *rd = ctx;
    char saved[WHERE_LEN];
    enter(rd, saved, "%s[%zu]", name, index);
    int rc = strcmp(name, "findings") == 0 ? read_finding(rd, v) : read_tensor(rd, v);
    leave(rd, saved);
    return rc;
}

static bool same_rule(const finding_rule *a, const finding_rule *b)
{
    if (!a->file || !b->file)
        return !a->file && !b->file;
    return a->line == b->line && strcmp(a->file, b->file) == 0 &&
           strcmp(a->id ? a->id : "", b->id ? b->id : "") == 0;
}

/* ---- what a report's own contents say -------------------------------------------- */

/* The coverage lists are the findings of one id each, in order: the
 * writer's table (report_common.h). */
static int check_coverage_lists(reader *rd)
{
    const report_coverage_list *lists = report_coverage_lists;
    const finding_list *fl = rd->r->findings;
    for (size_t k = 0; k < REPORT_COVERAGE_LISTS; k++) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(rd->coverage, lists[k].key)->child;
        for (size_t i = 0; i < findings_count(fl); i++) {
            const finding *f = findings_at(fl, i);
            if (!f->tensor || strcmp(f->id, lists[k].id) != 0)
                continue;
            if (!name || strcmp(name->valuestring, f->tensor) != 0)
                return fail(rd, "coverage.%s does not list the %s findings", lists[k].key, lists[k].id);
            name = name->next;
        }
        if (name)
            return fail(rd, "coverage.%s lists a name no %s finding has", lists[k].key, lists[k].id);
    }
    return 0;
}

/* A run that stopped says so by exactly one input.unreadable error - never
 * waived, never decided by a rule - and holds no tensors; a partial run
 * that was not limited by --only or --shard is one that stopped. */
static int check_stopped(reader *rd)
{
    const verify_result *r = rd->r;
    size_t stops = 0;
    for (size_t i = 0; i < findings_count(r->findings); i++) {
        const finding *f = findings_at(r->findings, i);
        if (strcmp(f->id, FIND_INPUT_UNREADABLE) != 0)
            continue;
        stops++;
        if (f->sev != SEV_ERROR || f->waived || f->rule.file)
            return fail(rd, "an input.unreadable finding that is not a plain error (no rule decides it)");
    }
    if (stops > 1 || (stops && (r->tensor_count || r->scope.complete)))
        return fail(rd, "input.unreadable is the one finding of a run that stopped, which checked no tensor");
    if (!stops && !r->scope.complete && !r->scope.only && !r->scope.shard)
        return fail(rd, "\"scope\" is partial without --only, --shard or an input.unreadable finding");
    /* the command line as given says what limited the run (a merge of
     * --shard parts is complete: only --only tells) */
    for (size_t i = 0; i < r->tool.argc && r->scope.complete; i++)
        if (strncmp(r->tool.argv[i], "--only", 6) == 0)
            return fail(rd, "\"scope\" is complete but tool.argv limits the run with --only");
    return 0;
}

/* A waiver comes from one of the report's rule files and is void past its
 * date (rules.waiver_expired instead). */
static int check_waivers(reader *rd)
{
    const verify_result *r = rd->r;
    char today[11] = "";
    if (r->tool.started[0])
        snprintf(today, sizeof today, "%.10s", r->tool.started);
    for (size_t i = 0; i < findings_count(r->findings); i++) {
        const finding *f = findings_at(r->findings, i);
        if (!f->waived)
            continue;
        bool known = strncmp(f->waiver.file, "builtin:", 8) == 0 &&
                     (strcmp(f->waiver.file + 8, "default") == 0 || strcmp(f->waiver.file + 8, "strict") == 0 ||
                      strcmp(f->waiver.file + 8, "gpt-oss") == 0);
        for (size_t k = 0; k < r->policy_file_count && !known; k++)
            known = strcmp(r->policy_files[k].path, f->waiver.file) == 0;
        snprintf(rd->where, sizeof rd->where, "findings[%zu].waived", i);
        if (!known)
            return fail(rd, "a waiver from a file that is not in policy.files");
        if (f->waiver_expires && today[0] && strcmp(f->waiver_expires, today) < 0)
            return fail(rd, "a waiver past its expiry date (%s) applied on %s", f->waiver_expires, today);
    }
    rd->where[0] = '\0';
    return 0;
}

static bool in_range(double v, double lo, double hi)
{
    return isnan(v) || (v >= lo && v <= hi);
}

/* Statistics that no comparison gives, and - under the built-in policies,
 * where numerics.threshold is never turned off - a statistic past the
 * tensor's own limits without the numerics.threshold finding that says so. */
static int check_stats(reader *rd, const verify_links *l)
{
    const verify_result *r = rd->r;
    bool builtin_only = r->policy_file_count == 0;
    for (size_t i = 0; i < r->tensor_count; i++) {
        const verify_tensor *t = &r->tensors[i];
        const stats_result *s = &t->stats;
        if (!t->compared)
            continue;
        snprintf(rd->where, sizeof rd->where, "tensors[%zu].stats", i);
        if (!in_range(s->max_abs_err, 0, INFINITY) || !in_range(s->mean_abs_err, 0, INFINITY) ||
            !in_range(s->rmse, 0, INFINITY) || !in_range(s->rel_l2, 0, INFINITY) ||
            !in_range(s->cosine, -1.0 - 1e-9, 1.0 + 1e-9) || !in_range(s->equal_fraction, 0, 1) ||
            (t->kind == VT_QUANTIZED &&
             (!in_range(s->codes_identical, 0, 1) || !in_range(s->scales_identical, 0, 1) ||
              !in_range(s->ref_rel_l2, 0, INFINITY) || !in_range(s->excess, 0, INFINITY))))
            return fail(rd, "a statistic outside the values a comparison gives");
        if (!builtin_only || t->kind != VT_QUANTIZED || t->limits == VERIFY_NO_LIMITS)
            continue;
        const verify_limit_set *set = &r->limit_sets[t->limits];
        size_t n;
        const size_t *on = verify_links_on(l, i, &n);
        for (size_t k = 0; k < set->n; k++) {
            policy_check pc;
            policy_check_from_key(set->items[k].key, &pc);
            if (!policy_violates(pc, policy_stat(s, pc), set->items[k].value))
                continue;
            const char *id = pc == PC_MAX_NONFINITE ? FIND_NONFINITE : FIND_THRESHOLD;
            bool said = false;
            for (size_t j = 0; j < n && !said; j++)
                said = strcmp(findings_at(r->findings, on[j])->id, id) == 0;
            if (!said)
                return fail(rd, "%s is past the tensor's %s without a %s finding", set->items[k].stat,
                            set->items[k].key, id);
        }
    }
    rd->where[0] = '\0';
    return 0;
}

/* A kept tensor is bit-identical when it was compared and no kept.modified
 * finding is on it; a quantized one when every element is equal. */
static void set_identical(verify_result *r)
{
    verify_links *l = verify_links_build(r);
    for (size_t i = 0; i < r->tensor_count; i++) {
        verify_tensor *t = &r->tensors[i];
        if (t->kind == VT_QUANTIZED) {
            t->identical = t->compared && t->stats.equal_fraction == 1.0;
            continue;
        }
        size_t n;
        const size_t *on = verify_links_on(l, i, &n);
        bool modified = false;
        for (size_t k = 0; k < n; k++)
            modified = modified || strcmp(findings_at(r->findings, on[k])->id, FIND_KEPT_MODIFIED) == 0;
        t->identical = t->compared && !modified;
    }
    verify_links_free(l);
}

/* The report's own arithmetic: its verdict, counts and statuses must be what
 * its findings say, so an edited verdict is refused. */
static int check_consistent(reader *rd)
{
    verify_result *r = rd->r;
    rd->where[0] = '\0';
    for (size_t k = 0; k < N_TOP; k++)
        if (!rd->seen[k])
            return fail(rd, "no member \"%s\"", top_keys[k]);
    if (verify_passed(r) != rd->passed)
        return fail(rd, "\"result\" is \"%s\" but its findings hold %zu errors", rd->passed ? "pass" : "fail",
                    findings_count_sev(r->findings, SEV_ERROR));
    const uint64_t have[6] = {r->tensor_count, r->quantized, r->kept, findings_count_sev(r->findings, SEV_ERROR),
                              findings_count_sev(r->findings, SEV_WARN), findings_count_waived(r->findings)};
    static const char *const names[6] = {"tensors", "quantized", "kept", "errors", "warnings", "waived"};
    for (int k = 0; k < 6; k++)
        if (have[k] != rd->summary[k])
            return fail(rd, "summary.%s is %llu but the report holds %llu", names[k],
                        (unsigned long long)rd->summary[k], (unsigned long long)have[k]);
    const result_part *part = &r->scope.part;
    if (part->present) {
        uint64_t sum = 0;
        for (int k = 0; k < PART_PHASE_COUNT; k++)
            sum += part->findings[k];
        if (sum != findings_count(r->findings))
            return fail(rd, "scope.plan.findings add up to %llu but the report holds %zu findings",
                        (unsigned long long)sum, findings_count(r->findings));
        if (part->count != r->tensor_count)
            return fail(rd, "scope.plan.count is %llu but the report holds %zu tensors",
                        (unsigned long long)part->count, r->tensor_count);
    }
    vt_status *said = xmalloc((r->tensor_count + 1) * sizeof *said);
    for (size_t i = 0; i < r->tensor_count; i++)
        said[i] = r->tensors[i].status;
    verify_result_set_statuses(r);
    int rc = 0;
    for (size_t i = 0; i < r->tensor_count && rc == 0; i++) {
        const verify_tensor *t = &r->tensors[i];
        finding_rule none = {0};
        const finding_rule *decided = t->status_finding >= 0
                                          ? &findings_at(r->findings, (size_t)t->status_finding)->rule
                                          : &none;
        snprintf(rd->where, sizeof rd->where, "tensors[%zu]", i);
        if (said[i] != t->status)
            rc = fail(rd, "\"status\" does not follow from the findings on the tensor");
        else if (!same_rule(decided, &rd->status_rule[i]))
            rc = fail(rd, "\"status_rule\" is not the rule of the finding that decided the status");
    }
    free(said);
    rd->where[0] = '\0';
    if (rc == 0)
        rc = check_coverage_lists(rd);
    if (rc == 0)
        rc = check_stopped(rd);
    if (rc == 0)
        rc = check_waivers(rd);
    if (rc == 0) {
        verify_links *l = verify_links_build(r);
        rc = check_stats(rd, l);
        verify_links_free(l);
    }
    if (rc == 0)
        set_identical(r);
    return rc;
}

int report_read_text(const char *text, size_t len, const char *display, verify_result **out, char *err,
                     size_t errlen)
{
    *out = NULL;
    reader rd = {.r = verify_result_new(NULL, NULL), .display = display, .err = err, .errlen = errlen};
    jsonread_walk w = {.member = on_member, .streams = streams, .element = on_element};
    jsonread_error e;
    int rc = jsonread_walk_members(text, len, JSONREAD_FILE_DEPTH, &w, &rd, &e);
    if (rc < 0 && !rd.failed)
        jsonread_format_error(&e, display, err, errlen);
    if (rc == 0)
        rc = check_consistent(&rd);
    for (size_t i = 0; i < rd.r->tensor_count && i < rd.status_cap; i++)
        finding_set_rule(&rd.status_rule[i], NULL, NULL, 0);
    free(rd.status_rule);
    cJSON_Delete(rd.coverage);
    if (rc != 0) {
        verify_result_free(rd.r);
        return -1;
    }
    *out = rd.r;
    return 0;
}

int report_read(const char *path, const char *display, verify_result **out, char *err, size_t errlen)
{
    char *text;
    size_t len;
    *out = NULL;
    if (jsonread_read_file(path, display, REPORT_READ_MAX_BYTES, &text, &len, err, errlen) < 0)
        return -1;
    int rc = report_read_text(text, len, display, out, err, errlen);
    free(text);
    return rc;
}

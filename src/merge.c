/* merge.c - partial reports joined into the whole run's (merge.h). */
#include "merge.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shard.h"
#include "text.h"
#include "util.h"

#define SHOWN 256

static merge_outcome refuse(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static merge_outcome refuse(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return MERGE_REFUSED;
}

static const char *shown(const char *s, char *buf)
{
    return text_escape(s ? s : "", buf, SHOWN);
}

/* parts put in plan order: slot[i] is part i/N. */
static merge_outcome order_parts(merge_part *parts, size_t n, merge_part **slot, unsigned *count, char *err,
                                 size_t errlen)
{
    char a[SHOWN], b[SHOWN];
    shard_spec s0 = {0, 0};
    for (size_t i = 0; i < n; i++) {
        const verify_result *r = parts[i].r;
        shard_spec s;
        char why[128];
        if (!r->scope.shard)
            return refuse(err, errlen, "%s is not a partial report (scope.shard is null): merge joins the "
                          "reports of verify --shard I/N", shown(parts[i].name, a));
        if (shard_parse(r->scope.shard, &s, why, sizeof why) < 0)
            return refuse(err, errlen, "%s: scope.shard '%s' is not I/N", shown(parts[i].name, a),
                          shown(r->scope.shard, b));
        if (i == 0) {
            s0 = s;
            *count = s.count;
            for (unsigned k = 0; k < s.count; k++)
                slot[k] = NULL;
        } else if (s.count != s0.count) {
            return refuse(err, errlen, "%s is part %u/%u but %s part %u/%u: parts of different plans",
                          shown(parts[i].name, a), s.index, s.count, shown(parts[0].name, b), s0.index, s0.count);
        }
        if (slot[s.index])
            return refuse(err, errlen, "%s and %s are both part %u/%u", shown(slot[s.index]->name, a),
                          shown(parts[i].name, b), s.index, s.count);
        slot[s.index] = &parts[i];
    }
    char missing[512] = "";
    size_t len = 0, nmissing = 0;
    for (unsigned k = 0; k < *count; k++)
        if (!slot[k] && nmissing++ < 16 && len < sizeof missing)
            len += (size_t)snprintf(missing + len, sizeof missing - len, "%s%u/%u", nmissing > 1 ? ", " : "", k,
                                    *count);
    if (nmissing)
        return refuse(err, errlen, "%zu of %u parts missing: %s%s", nmissing, *count, missing,
                      nmissing > 16 ? ", ..." : "");
    return MERGE_OK;
}

/* A part that stopped on unreadable input holds one input.unreadable finding
 * and no plan (verify.h). */
static bool faulted(const verify_result *r)
{
    for (size_t i = 0; i < findings_count(r->findings); i++)
        if (strcmp(findings_at(r->findings, i)->id, FIND_INPUT_UNREADABLE) == 0)
            return true;
    return false;
}

static bool same_text(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* What must be the same in every part of one run, or NULL. */
static const char *differs(const verify_result *a, const verify_result *b)
{
    if (strcmp(a->scope.part.digest, b->scope.part.digest) != 0 || a->scope.part.tensors != b->scope.part.tensors)
        return "its plan digest differs (another checkpoint, --only or number of parts)";
    if (!same_text(a->src, b->src) || !same_text(a->dst, b->dst))
        return "it verified other SRC or DST paths";
    if (!same_text(a->tool.version, b->tool.version))
        return "another version of mxfp4-check wrote it";
    if (!same_text(a->scope.only, b->scope.only))
        return "its --only differs";
    if (!same_text(a->builtin, b->builtin) || a->policy_file_count != b->policy_file_count)
        return "its policy differs";
    for (size_t i = 0; i < a->policy_file_count; i++)
        if (strcmp(a->policy_files[i].path, b->policy_files[i].path) != 0 ||
            strcmp(a->policy_files[i].sha256, b->policy_files[i].sha256) != 0)
            return "its policy differs (rule files or their SHA-256)";
    if (a->pattern_count != b->pattern_count)
        return "its modules_to_not_convert differs";
    for (size_t i = 0; i < a->pattern_count; i++)
        if (strcmp(a->patterns[i].pattern, b->patterns[i].pattern) != 0 ||
            a->patterns[i].matched != b->patterns[i].matched ||
            a->patterns[i].matched_loader != b->patterns[i].matched_loader)
            return "its modules_to_not_convert differs";
    return NULL;
}

static merge_outcome check_parts(merge_part *const *slot, unsigned count, char *err, size_t errlen)
{
    char a[SHOWN], b[SHOWN];
    const verify_result *r0 = slot[0]->r;
    uint64_t next = 0;
    for (unsigned k = 0; k < count; k++) {
        const verify_result *r = slot[k]->r;
        const result_part *p = &r->scope.part;
        const char *why = !p->present ? "it has no plan (scope.plan is null)" : differs(r0, r);
        if (!why && p->first != next)
            why = "its tensors do not follow the previous part's";
        if (!why && k > 0 && p->findings[PART_CHECKPOINT] != 0)
            why = "it holds checkpoint-wide findings, which are part 0's";
        if (why)
            return refuse(err, errlen, "%s (part %u/%u) does not belong with %s: %s", shown(slot[k]->name, a), k,
                          count, shown(slot[0]->name, b), why);
        next += p->count;
    }
    if (next != r0->scope.part.tensors)
        return refuse(err, errlen, "the parts hold %llu tensors but their plan %llu",
                      (unsigned long long)next, (unsigned long long)r0->scope.part.tensors);
    return MERGE_OK;
}

/* Findings [from, from + n) of phase ph of part r. */
static size_t phase_start(const verify_result *r, result_part_phase ph)
{
    size_t at = 0;
    for (int k = 0; k < (int)ph; k++)
        at += (size_t)r->scope.part.findings[k];
    return at;
}

static void append_phase(finding_list *to, const verify_result *r, result_part_phase ph)
{
    size_t at = phase_start(r, ph), n = (size_t)r->scope.part.findings[ph];
    for (size_t i = 0; i < n; i++)
        findings_append_copy(to, findings_at(r->findings, at + i));
}

/* Whether part r's policy findings hold one equal to f. */
static bool policy_says(const verify_result *r, const finding *f)
{
    size_t at = phase_start(r, PART_POLICY), n = (size_t)r->scope.part.findings[PART_POLICY];
    for (size_t i = 0; i < n; i++)
        if (finding_equal(findings_at(r->findings, at + i), f))
            return true;
    return false;
}

/* The policy's own findings of the whole run: part 0's (the same facts in
 * every part: expired waivers, selectors matching no tensor - every part
 * matches the rules against every tensor when it makes its plan), but a
 * waiver is unused only when no part used it. */
static void append_policy(finding_list *to, merge_part *const *slot, unsigned count)
{
    const verify_result *r0 = slot[0]->r;
    size_t at = phase_start(r0, PART_POLICY), n = (size_t)r0->scope.part.findings[PART_POLICY];
    for (size_t i = 0; i < n; i++) {
        const finding *f = findings_at(r0->findings, at + i);
        bool keep = true;
        for (unsigned k = 1; keep && k < count && strcmp(f->id, FIND_WAIVER_UNUSED) == 0; k++)
            keep = policy_says(slot[k]->r, f);
        if (keep)
            findings_append_copy(to, f);
    }
}

static finding_list *merged_findings(merge_part *const *slot, unsigned count)
{
    finding_list *fl = findings_new();
    append_phase(fl, slot[0]->r, PART_CHECKPOINT);
    for (unsigned k = 0; k < count; k++)
        append_phase(fl, slot[k]->r, PART_NUMERICS);
    for (unsigned k = 0; k < count; k++)
        append_phase(fl, slot[k]->r, PART_DIAGNOSIS);
    append_policy(fl, slot, count);
    return fl;
}

/* Moves the tensors and limit sets of part p to the end of m's. */
static void take_tensors(verify_result *m, verify_result *p)
{
    size_t base = m->limit_set_count;
    m->limit_sets = xrealloc(m->limit_sets, (base + p->limit_set_count + 1) * sizeof *m->limit_sets);
    if (p->limit_set_count)
        memcpy(m->limit_sets + base, p->limit_sets, p->limit_set_count * sizeof *p->limit_sets);
    m->limit_set_count += p->limit_set_count;
    p->limit_set_count = 0;
    m->tensors = xrealloc(m->tensors, (m->tensor_count + p->tensor_count + 1) * sizeof *m->tensors);
    for (size_t i = 0; i < p->tensor_count; i++) {
        verify_tensor *t = &m->tensors[m->tensor_count++];
        *t = p->tensors[i];
        if (t->limits != VERIFY_NO_LIMITS)
            t->limits += (uint32_t)base;
    }
    p->tensor_count = 0;
    m->quantized += p->quantized;
    m->kept += p->kept;
    m->bytes_read += p->bytes_read;
    if (p->seconds > m->seconds) /* the parts ran side by side */
        m->seconds = p->seconds;
}

/* The devices of every part, each named once. */
static void take_devices(verify_result *m, verify_result *p)
{
    for (size_t i = 0; i < p->tool.device_count; i++) {
        bool seen = false;
        for (size_t j = 0; j < m->tool.device_count && !seen; j++)
            seen = strcmp(m->tool.devices[j], p->tool.devices[i]) == 0;
        if (seen)
            continue;
        m->tool.devices = xrealloc(m->tool.devices, (m->tool.device_count + 1) * sizeof *m->tool.devices);
        m->tool.devices[m->tool.device_count++] = p->tool.devices[i];
        p->tool.devices[i] = NULL;
    }
}

/* The whole run's scope: --only stays, the shard and its plan go. */
static void whole_scope(verify_result *m, bool complete)
{
    free(m->scope.shard);
    m->scope.shard = NULL;
    m->scope.part = (result_part){0};
    m->scope.complete = complete && !m->scope.only;
}

/* A part that stopped: the run stopped, with its fault (and part 0's
 * manifest when it has one: the fault's own part lists none). */
static merge_outcome take_fault(merge_part *const *slot, unsigned count, verify_result **out)
{
    unsigned k = 0;
    while (!faulted(slot[k]->r))
        k++;
    verify_result *m = slot[k]->r;
    slot[k]->r = NULL;
    if (k > 0 && !m->manifest.src_count && !m->manifest.dst_count) {
        m->manifest = slot[0]->r->manifest;
        slot[0]->r->manifest = (result_manifest){0};
    }
    (void)count;
    whole_scope(m, false);
    *out = m;
    return MERGE_FAULT;
}

merge_outcome merge_results(merge_part *parts, size_t n, verify_result **out, char *err, size_t errlen)
{
    *out = NULL;
    if (n == 0)
        return refuse(err, errlen, "no partial reports");
    merge_part **slot = xcalloc(n + 1, sizeof *slot);
    unsigned count = 0;
    merge_outcome rc = n > SHARD_MAX_PARTS ? refuse(err, errlen, "more than %u parts", SHARD_MAX_PARTS)
                                           : order_parts(parts, n, slot, &count, err, errlen);
    if (rc == MERGE_OK && n != count)
        rc = refuse(err, errlen, "%zu reports for a plan of %u parts", n, count);
    bool fault = false;
    for (unsigned k = 0; rc == MERGE_OK && k < count; k++)
        fault = fault || faulted(slot[k]->r);
    if (rc == MERGE_OK && fault) {
        rc = take_fault(slot, count, out);
        free(slot);
        return rc;
    }
    if (rc == MERGE_OK)
        rc = check_parts(slot, count, err, errlen);
    if (rc != MERGE_OK) {
        free(slot);
        return rc;
    }
    finding_list *fl = merged_findings(slot, count);
    verify_result *m = slot[0]->r;
    slot[0]->r = NULL;
    findings_free(m->findings);
    m->findings = fl;
    for (unsigned k = 1; k < count; k++) {
        take_tensors(m, slot[k]->r);
        take_devices(m, slot[k]->r);
    }
    whole_scope(m, true);
    verify_result_set_statuses(m);
    free(slot);
    *out = m;
    return MERGE_OK;
}

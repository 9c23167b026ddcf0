/* result.c - owning and linking a verify_result (result.h). */
#include "result.h"

#include <stdlib.h>
#include <string.h>

#include "mxfp4.h"
#include "util.h"

verify_result *verify_result_new(const char *src, const char *dst)
{
    verify_result *r = xcalloc(1, sizeof *r);
    r->src = xstrdup(src ? src : "");
    r->dst = xstrdup(dst ? dst : "");
    r->findings = findings_new();
    return r;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void free_files(result_file *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i].file);
    free(f);
}

void verify_result_free(verify_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->tensor_count; i++) {
        free(r->tensors[i].name);
        free(r->tensors[i].shape);
        scale_hist_clear(&r->tensors[i].scale_hist);
    }
    for (size_t i = 0; i < r->pattern_count; i++)
        free(r->patterns[i].pattern);
    for (size_t k = 0; k < r->limit_set_count; k++) {
        for (size_t i = 0; i < r->limit_sets[k].n; i++) {
            free(r->limit_sets[k].items[i].rule_id);
            free(r->limit_sets[k].items[i].rule_file);
        }
        free(r->limit_sets[k].items);
    }
    free(r->limit_sets);
    for (size_t i = 0; i < r->policy_file_count; i++)
        free(r->policy_files[i].path);
    free(r->policy_files);
    free(r->builtin);
    free(r->tensors);
    free(r->patterns);
    findings_free(r->findings);
    free(r->src);
    free(r->dst);
    free(r->tool.version);
    free(r->tool.backend);
    free_strings(r->tool.devices, r->tool.device_count);
    free_strings(r->tool.argv, r->tool.argc);
    free(r->scope.only);
    free(r->scope.shard);
    free_files(r->manifest.src, r->manifest.src_count);
    free_files(r->manifest.dst, r->manifest.dst_count);
    free(r);
}

bool verify_passed(const verify_result *r)
{
    return !r->findings || findings_count_sev(r->findings, SEV_ERROR) == 0;
}

/* ---- links from findings to tensors ---------------------------------------- */

struct verify_links {
    size_t *start;   /* tensor t's findings are finding[start[t] .. start[t + 1]) */
    size_t *finding;
    bool *attached;  /* per finding */
};

/* The tensor of the result named by the first len bytes of name, or -1. */
static ptrdiff_t find_tensor(const verify_result *r, const char *name, size_t len)
{
    size_t lo = 0, hi = r->tensor_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *t = r->tensors[mid].name;
        int c = strncmp(t, name, len);
        if (c == 0)
            c = t[len] != '\0'; /* t is longer: it sorts after */
        if (c == 0)
            return (ptrdiff_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

ptrdiff_t verify_result_find_tensor(const verify_result *r, const char *name)
{
    return find_tensor(r, name, strlen(name));
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* The tensors finding f is on (at most two): its own, and the logical
 * tensor its _blocks/_scales name stands for. */
static int tensors_of(const verify_result *r, const finding *f, ptrdiff_t out[2])
{
    int n = 0;
    if (!f->tensor)
        return 0;
    size_t len = strlen(f->tensor);
    ptrdiff_t t = find_tensor(r, f->tensor, len);
    if (t >= 0)
        out[n++] = t;
    const char *sfx = ends_with(f->tensor, len, MXFP4_BLOCKS_SUFFIX)   ? MXFP4_BLOCKS_SUFFIX
                      : ends_with(f->tensor, len, MXFP4_SCALES_SUFFIX) ? MXFP4_SCALES_SUFFIX
                                                                      : NULL;
    if (sfx && (t = find_tensor(r, f->tensor, len - strlen(sfx))) >= 0)
        out[n++] = t;
    return n;
}

verify_links *verify_links_build(const verify_result *r)
{
    size_t nf = r->findings ? findings_count(r->findings) : 0, nt = r->tensor_count;
    verify_links *l = xcalloc(1, sizeof *l);
    l->start = xcalloc(nt + 2, sizeof *l->start);
    l->attached = xcalloc(nf + 1, sizeof *l->attached);
    /* counting sort by tensor, findings in order within each */
    for (size_t i = 0; i < nf; i++) {
        ptrdiff_t t[2];
        int n = tensors_of(r, findings_at(r->findings, i), t);
        for (int k = 0; k < n; k++)
            l->start[t[k] + 2]++;
        l->attached[i] = n > 0;
    }
    for (size_t t = 0; t < nt; t++)
        l->start[t + 2] += l->start[t + 1];
    l->finding = xmalloc((l->start[nt + 1] + 1) * sizeof *l->finding);
    for (size_t i = 0; i < nf; i++) {
        ptrdiff_t t[2];
        int n = tensors_of(r, findings_at(r->findings, i), t);
        for (int k = 0; k < n; k++)
            l->finding[l->start[t[k] + 1]++] = i;
    }
    return l; /* start[t + 1] has moved to the end of tensor t: start[t] begins it */
}

void verify_links_free(verify_links *l)
{
    if (!l)
        return;
    free(l->start);
    free(l->finding);
    free(l->attached);
    free(l);
}

const size_t *verify_links_on(const verify_links *l, size_t t, size_t *count)
{
    *count = l->start[t + 1] - l->start[t];
    return *count ? l->finding + l->start[t] : NULL;
}

bool verify_links_attached(const verify_links *l, size_t i)
{
    return l->attached[i];
}

void verify_result_set_statuses(verify_result *r)
{
    verify_links *l = verify_links_build(r);
    for (size_t i = 0; i < r->tensor_count; i++) {
        verify_tensor *t = &r->tensors[i];
        t->status = VT_PASS;
        t->status_finding = -1;
        size_t n;
        const size_t *on = verify_links_on(l, i, &n);
        for (size_t k = 0; k < n; k++) {
            const finding *f = findings_at(r->findings, on[k]);
            if (f->waived)
                continue;
            vt_status s = f->sev == SEV_ERROR ? VT_FAIL : f->sev == SEV_WARN ? VT_WARN : VT_PASS;
            if (s > t->status) {
                t->status = s;
                t->status_finding = (ptrdiff_t)on[k];
            }
        }
    }
    verify_links_free(l);
}

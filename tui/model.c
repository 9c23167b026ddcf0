/* model.c - the browser's one door into src/: headers, the report, the
 * policy, and a worker thread for everything that reads tensor data. */
#include "model.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "checkpoint.h"
#include "dtype.h"
#include "finding.h"
#include "manifest.h"
#include "pattern.h"
#include "policy.h"
#include "report_read.h"
#include "rules.h"
#include "text.h"
#include "util.h"
#include "verify.h"

#define QUEUE_CAP 64   /* jobs waiting: a user paging through tensors queues a few */
#define MESSAGE_LEN 512

typedef struct {
    model_job kind;
    size_t tensor;
} job;

/* What the worker hands over; model_poll applies it on the UI thread. */
typedef struct {
    model_job kind;
    size_t tensor;
    uint64_t *hist;        /* JOB_HIST */
    verify_result *result; /* JOB_COMPARE, JOB_VERIFY */
    char message[MESSAGE_LEN];
} outcome;

struct tui_model {
    char *src_path, *dst_path, *report_origin;
    char **rules;
    size_t nrules;
    ckpt *dst;
    finding_list *open_findings; /* structural findings of opening DST (unused: a verify reports them) */
    model_tensor *tensors;
    size_t n;
    size_t *decided;             /* per pattern: tensors it keeps */
    policy *pol;                 /* for explain, UI thread only */

    verify_result *report;       /* loaded or computed; NULL */
    verify_links *links;
    ptrdiff_t *report_index;     /* per tensor: its entry in report->tensors, or -1 */
    ptrdiff_t *finding_tensor;   /* per finding: its tensor, or -1 */

    uint64_t **hist;             /* per tensor, read on request (NULL: not read) */
    verify_result **compared;    /* per tensor, computed on request */
    bool *queued_hist, *queued_compare;

    pthread_t worker;
    bool worker_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;           /* a job was queued, or stop */
    pthread_cond_t idle_cv;      /* the worker finished a job */
    bool stop;
    job queue[QUEUE_CAP];
    size_t queued;
    job running;                 /* kind JOB_NONE when idle */
    uint64_t done_bytes, total_bytes;
    atomic_int cancel;
    outcome *outcomes;
    size_t noutcomes, outcomes_cap;
    char message[MESSAGE_LEN];
};

/* ---- opening -------------------------------------------------------------- */

static model_status status_of(vt_status s)
{
    return s == VT_FAIL ? MS_FAIL : s == VT_WARN ? MS_WARN : MS_PASS;
}

static void build_tensors(tui_model *m)
{
    const ckpt_config *cfg = ckpt_get_config(m->dst);
    m->n = ckpt_logical_count(m->dst);
    m->tensors = xcalloc(m->n ? m->n : 1, sizeof *m->tensors);
    m->decided = xcalloc(cfg->n_not_convert > 0 ? (size_t)cfg->n_not_convert : 1, sizeof *m->decided);
    for (size_t i = 0; i < m->n; i++) {
        const ckpt_logical *lt = ckpt_logical_at(m->dst, i);
        model_tensor *t = &m->tensors[i];
        t->name = lt->name;
        t->quantized = lt->kind == LT_MXFP4;
        t->pattern = pat_first_match(cfg->not_convert, cfg->n_not_convert, lt->name);
        if (t->pattern >= 0)
            m->decided[t->pattern]++;
        t->shard = (t->quantized ? lt->blocks : lt->plain)->shard;
        t->bytes = lt->bytes;
        t->rel_l2 = t->excess = NAN;
    }
    m->hist = xcalloc(m->n ? m->n : 1, sizeof *m->hist);
    m->compared = xcalloc(m->n ? m->n : 1, sizeof *m->compared);
    m->queued_hist = xcalloc(m->n ? m->n : 1, sizeof *m->queued_hist);
    m->queued_compare = xcalloc(m->n ? m->n : 1, sizeof *m->queued_compare);
}

/* The policy of the rule files, problems into err (no stderr: the screen is
 * ours). */
static policy *load_policy(char *const *files, size_t n, char *err, size_t errlen)
{
    rules_loader *l = rules_loader_new();
    rules_add_builtin(l, "default");
    for (size_t i = 0; i < n; i++)
        rules_add_file(l, files[i]);
    rules_finish(l);
    policy *p = rules_take_policy(l);
    if (!p) {
        snprintf(err, errlen, "%s", rules_problems(l));
        size_t len = strlen(err);
        if (len && err[len - 1] == '\n')
            err[len - 1] = '\0';
    }
    rules_loader_free(l);
    return p;
}

static void *worker_main(void *arg);

/* A report takes the place of the last: per-tensor marks, finding links. */
static void set_report(tui_model *m, verify_result *r, const char *origin)
{
    verify_links_free(m->links);
    verify_result_free(m->report);
    free(m->report_origin);
    free(m->report_index);
    free(m->finding_tensor);
    m->report = r;
    m->report_origin = xstrdup(origin);
    m->links = verify_links_build(r);
    m->report_index = xmalloc((m->n ? m->n : 1) * sizeof *m->report_index);
    size_t nf = findings_count(r->findings);
    m->finding_tensor = xmalloc((nf ? nf : 1) * sizeof *m->finding_tensor);
    for (size_t f = 0; f < nf; f++)
        m->finding_tensor[f] = -1;
    for (size_t i = 0; i < m->n; i++) {
        model_tensor *t = &m->tensors[i];
        m->report_index[i] = -1;
        t->status = MS_NONE;
        t->waived = false;
        t->rel_l2 = t->excess = NAN;
    }
    for (size_t k = 0; k < r->tensor_count; k++) {
        const verify_tensor *vt = &r->tensors[k];
        ptrdiff_t i = model_tensor_find(m, vt->name);
        size_t non;
        const size_t *on = verify_links_on(m->links, k, &non);
        if (i < 0)
            continue;
        model_tensor *t = &m->tensors[i];
        m->report_index[i] = (ptrdiff_t)k;
        t->status = status_of(vt->status);
        if (vt->compared) {
            t->rel_l2 = vt->stats.rel_l2;
            t->excess = vt->stats.excess;
        }
        for (size_t j = 0; j < non; j++) {
            if (m->finding_tensor[on[j]] < 0)
                m->finding_tensor[on[j]] = i;
            if (findings_at(r->findings, on[j])->waived)
                t->waived = true;
        }
    }
    /* findings on a DST-only name (coverage.extra) have no source entry */
    for (size_t f = 0; f < nf; f++) {
        const finding *fd = findings_at(r->findings, f);
        if (m->finding_tensor[f] < 0 && fd->tensor)
            m->finding_tensor[f] = model_tensor_find(m, fd->tensor);
    }
}

/* A report names the files of the DST it was made of (its manifest): one of
 * another checkpoint must not be shown as this one's verdict. True (with
 * err) when DST's files now are not those - by name and size. */
static bool report_of_other_checkpoint(const tui_model *m, const verify_result *r, const char *path, char *err,
                                       size_t errlen)
{
    result_file *files;
    size_t n;
    char why[ST_ERR_LEN], shown[256], dst[256], said[256];
    struct stat a, b;
    /* the report's DST where it still is: another directory is another checkpoint */
    if (stat(r->dst, &a) == 0 && stat(m->dst_path, &b) == 0 && (a.st_dev != b.st_dev || a.st_ino != b.st_ino)) {
        snprintf(err, errlen, "--report '%s' is a report of DST '%s', not of '%s'", text_escape(path, shown, sizeof shown),
                 text_escape(r->dst, said, sizeof said), text_escape(m->dst_path, dst, sizeof dst));
        return true;
    }
    /* moved (or made elsewhere): at least its files must be these */
    if (manifest_list("DST", m->dst_path, false, &files, &n, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s", why);
        return true;
    }
    bool same = n == r->manifest.dst_count;
    for (size_t i = 0; same && i < n; i++)
        same = strcmp(files[i].file, r->manifest.dst[i].file) == 0 && files[i].bytes == r->manifest.dst[i].bytes;
    for (size_t i = 0; i < n; i++)
        free(files[i].file);
    free(files);
    if (!same)
        snprintf(err, errlen,
                 "--report '%s' is a report of DST '%s', whose files differ from those of '%s' (names or sizes)",
                 text_escape(path, shown, sizeof shown), text_escape(r->dst, said, sizeof said),
                 text_escape(m->dst_path, dst, sizeof dst));
    return !same;
}

static int load_report(tui_model *m, const char *path, char *err, size_t errlen)
{
    char shown[256], why[1024];
    verify_result *r = NULL;
    if (report_read(path, text_escape(path, shown, sizeof shown), &r, why, sizeof why) < 0) {
        snprintf(err, errlen, "--report %s", why);
        return -1;
    }
    if (report_of_other_checkpoint(m, r, path, err, errlen)) {
        verify_result_free(r);
        return -1;
    }
    set_report(m, r, path);
    return 0;
}

int model_open(const model_opts *o, tui_model **out, char *err, size_t errlen)
{
    *out = NULL;
    tui_model *m = xcalloc(1, sizeof *m);
    char why[ST_ERR_LEN], shown[256];
    m->dst_path = xstrdup(o->dst);
    m->src_path = o->src ? xstrdup(o->src) : NULL;
    m->rules = xcalloc(o->nrules + 1, sizeof *m->rules);
    for (size_t i = 0; i < o->nrules; i++)
        m->rules[m->nrules++] = xstrdup(o->rules[i]);
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    pthread_cond_init(&m->idle_cv, NULL);
    m->open_findings = findings_new();
    struct stat sb;
    if (o->src && stat(o->src, &sb) != 0) { /* opened by each verify; named now */
        text_side_error(err, errlen, "SRC", o->src, "no such file or directory");
        goto fail;
    }
    if (ckpt_open(o->dst, &m->dst, m->open_findings, why, sizeof why) < 0) {
        text_side_error(err, errlen, "DST", o->dst, why);
        goto fail;
    }
    build_tensors(m);
    m->pol = load_policy(m->rules, m->nrules, err, errlen);
    if (!m->pol)
        goto fail;
    if (o->report && load_report(m, o->report, err, errlen) < 0)
        goto fail;
    if (pthread_create(&m->worker, NULL, worker_main, m) != 0) {
        snprintf(err, errlen, "cannot start the reader thread for DST '%s'",
                 text_escape(o->dst, shown, sizeof shown));
        goto fail;
    }
    m->worker_started = true;
    *out = m;
    return 0;
fail:
    model_close(m);
    return -1;
}

void model_close(tui_model *m)
{
    if (!m)
        return;
    if (m->worker_started) {
        pthread_mutex_lock(&m->mu);
        m->stop = true;
        atomic_store(&m->cancel, 1);
        pthread_cond_broadcast(&m->cv);
        pthread_mutex_unlock(&m->mu);
        pthread_join(m->worker, NULL);
    }
    for (size_t k = 0; k < m->noutcomes; k++) {
        free(m->outcomes[k].hist);
        verify_result_free(m->outcomes[k].result);
    }
    free(m->outcomes);
    for (size_t i = 0; i < m->n; i++) {
        free(m->hist[i]);
        verify_result_free(m->compared[i]);
    }
    free(m->hist);
    free(m->compared);
    free(m->queued_hist);
    free(m->queued_compare);
    verify_links_free(m->links);
    verify_result_free(m->report);
    free(m->report_origin);
    free(m->report_index);
    free(m->finding_tensor);
    policy_free(m->pol);
    free(m->tensors);
    free(m->decided);
    ckpt_close(m->dst);
    findings_free(m->open_findings);
    for (size_t i = 0; i < m->nrules; i++)
        free(m->rules[i]);
    free(m->rules);
    free(m->src_path);
    free(m->dst_path);
    pthread_cond_destroy(&m->cv);
    pthread_cond_destroy(&m->idle_cv);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* ---- headers -------------------------------------------------------------- */

const char *model_dst_path(const tui_model *m) { return m->dst_path; }
const char *model_src_path(const tui_model *m) { return m->src_path; }
size_t model_tensor_count(const tui_model *m) { return m->n; }
const model_tensor *model_tensor_at(const tui_model *m, size_t i) { return &m->tensors[i]; }

ptrdiff_t model_tensor_find(const tui_model *m, const char *name)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->tensors[mid].name, name);
        if (c == 0)
            return (ptrdiff_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

size_t model_shard_count(const tui_model *m) { return ckpt_shard_count(m->dst); }

void model_shard_at(const tui_model *m, size_t i, model_shard *out)
{
    const ckpt_shard *s = ckpt_shard_at(m->dst, i);
    out->file = s->file;
    out->data_bytes = st_data_len(s->st);
    out->file_bytes = st_data_start(s->st) + out->data_bytes;
    out->tensors = st_tensor_count(s->st);
}

void model_config_get(const tui_model *m, model_config *out)
{
    const ckpt_config *cfg = ckpt_get_config(m->dst);
    memset(out, 0, sizeof *out);
    out->present = cfg->present;
    out->has_quant = cfg->has_quant;
    out->quant_method = cfg->quant_method;
    out->patterns = cfg->n_not_convert > 0 ? (size_t)cfg->n_not_convert : 0;
    out->has_index = ckpt_has_index(m->dst);
    out->has_total_size = ckpt_index_total_size(m->dst, &out->total_size);
    out->data_bytes = ckpt_data_bytes(m->dst);
}

const char *model_pattern_at(const tui_model *m, size_t i, size_t *decided)
{
    const ckpt_config *cfg = ckpt_get_config(m->dst);
    if (decided)
        *decided = m->decided[i];
    return cfg->not_convert[i];
}

static void set_part(const tui_model *m, model_part *p, const char *role, const ckpt_tensor *ct)
{
    const ckpt_shard *s = ckpt_shard_at(m->dst, ct->shard);
    p->role = role;
    p->name = ct->t->name;
    p->dtype = dtype_name(ct->t->dtype);
    p->rank = ct->t->rank;
    p->shape = ct->t->shape;
    p->shard = s->file;
    p->begin = ct->t->begin;
    p->end = ct->t->end;
    p->file_offset = st_data_start(s->st) + ct->t->begin;
}

void model_layout_of(const tui_model *m, size_t i, model_layout *out)
{
    const ckpt_logical *lt = ckpt_logical_at(m->dst, i);
    memset(out, 0, sizeof *out);
    out->rank = lt->rank < MODEL_MAX_RANK ? lt->rank : MODEL_MAX_RANK;
    memcpy(out->shape, lt->shape, sizeof(uint64_t) * (size_t)out->rank);
    if (lt->kind == LT_PLAIN) {
        out->dtype = dtype_name(lt->plain->t->dtype);
        out->nparts = 1;
        set_part(m, &out->parts[0], "data", lt->plain);
        return;
    }
    /* the converter quantized W.swapaxes(-2, -1): the source's shape swaps back */
    if (out->rank >= 2) {
        out->shape[out->rank - 2] = lt->shape[lt->rank - 1];
        out->shape[out->rank - 1] = lt->shape[lt->rank - 2];
    }
    out->dtype = "MXFP4";
    out->groups = lt->groups;
    out->nparts = 2;
    set_part(m, &out->parts[0], "blocks", lt->blocks);
    set_part(m, &out->parts[1], "scales", lt->scales);
}

/* ---- the report ------------------------------------------------------------- */

bool model_has_report(const tui_model *m) { return m->report != NULL; }

void model_report_summary(const tui_model *m, model_summary *out)
{
    memset(out, 0, sizeof *out);
    if (!m->report)
        return;
    const verify_result *r = m->report;
    out->passed = verify_passed(r);
    out->origin = m->report_origin;
    out->backend = r->tool.backend;
    out->complete = r->scope.complete;
    out->tensors = r->tensor_count;
    out->quantized = r->quantized;
    out->kept = r->kept;
    out->errors = findings_count_sev(r->findings, SEV_ERROR);
    out->warnings = findings_count_sev(r->findings, SEV_WARN);
    out->waived = findings_count_waived(r->findings);
    out->bytes_read = r->bytes_read;
    out->seconds = r->seconds;
}

size_t model_finding_count(const tui_model *m)
{
    return m->report ? findings_count(m->report->findings) : 0;
}

void model_finding_at(const tui_model *m, size_t i, model_finding *out)
{
    const finding *f = findings_at(m->report->findings, i);
    out->id = f->id;
    out->severity = f->sev == SEV_ERROR ? MF_ERROR : f->sev == SEV_WARN ? MF_WARN : MF_INFO;
    out->tensor = f->tensor;
    out->file = f->file;
    out->message = f->message;
    out->rule_id = f->rule.id;
    out->rule_file = f->rule.file;
    out->rule_line = f->rule.line;
    out->waived = f->waived;
    out->waiver_reason = f->waiver_reason;
    out->waiver_expires = f->waiver_expires;
}

ptrdiff_t model_finding_tensor(const tui_model *m, size_t i)
{
    return m->report ? m->finding_tensor[i] : -1;
}

const size_t *model_findings_on(const tui_model *m, size_t i, size_t *n)
{
    *n = 0;
    if (!m->report || m->report_index[i] < 0)
        return NULL;
    return verify_links_on(m->links, (size_t)m->report_index[i], n);
}

static void stats_of(const verify_tensor *vt, model_stats *out)
{
    memset(out, 0, sizeof *out);
    out->status = status_of(vt->status);
    out->compared = vt->compared;
    out->identical = vt->identical;
    const stats_result *s = &vt->stats;
    out->max_abs_err = s->max_abs_err;
    out->mean_abs_err = s->mean_abs_err;
    out->rmse = s->rmse;
    out->rel_l2 = s->rel_l2;
    out->cosine = s->cosine;
    out->snr_db = s->snr_db;
    out->equal_fraction = s->equal_fraction;
    out->nonfinite = s->nonfinite;
    out->codes_identical = s->codes_identical;
    out->scales_identical = s->scales_identical;
    out->ref_rel_l2 = s->ref_rel_l2;
    out->excess = s->excess;
}

bool model_tensor_stats(const tui_model *m, size_t i, model_stats *out)
{
    if (!m->report || m->report_index[i] < 0)
        return false;
    stats_of(&m->report->tensors[m->report_index[i]], out);
    return true;
}

const char *model_finding_meaning(const char *id)
{
    const finding_kind *k = finding_kind_find(id);
    return k ? k->meaning : "";
}

/* ---- the worker -------------------------------------------------------------- */

static void today_utc(char out[11])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    tui_model *m = ctx;
    pthread_mutex_lock(&m->mu);
    m->done_bytes = done;
    m->total_bytes = total;
    pthread_mutex_unlock(&m->mu);
}

/* `name` as an fnmatch pattern that matches only itself. */
static char *glob_literal(const char *name)
{
    char *out = xmalloc(2 * strlen(name) + 1), *p = out;
    for (; *name; name++) {
        if (strchr("*?[\\", *name))
            *p++ = '\\';
        *p++ = *name;
    }
    *p = '\0';
    return out;
}

/* A verify of SRC and DST (of one tensor when only is set), with its own
 * policy: a policy remembers what matched, one per run. */
static void run_verify(tui_model *m, const char *only, outcome *oc)
{
    char err[MESSAGE_LEN - 16];
    policy *p = load_policy(m->rules, m->nrules, err, sizeof err);
    if (!p) {
        snprintf(oc->message, sizeof oc->message, "%s", err);
        return;
    }
    char today[11];
    today_utc(today);
    verify_opts o = {.src = m->src_path, .dst = m->dst_path, .backend = "auto", .only = only,
                     .policy = p, .today = today, .on_progress = on_progress, .progress_ctx = m,
                     .cancel = &m->cancel};
    if (verify_run(&o, &oc->result, err, sizeof err) < 0) {
        /* a stopped run's result holds only the error: the message says it,
         * and the report shown before stays */
        verify_result_free(oc->result);
        oc->result = NULL;
        snprintf(oc->message, sizeof oc->message, "verify: %s", err);
    }
    policy_free(p);
}

static void run_job(tui_model *m, job j, outcome *oc)
{
    char err[ST_ERR_LEN], shown[256];
    const char *name = m->tensors[j.tensor].name;
    switch (j.kind) {
    case JOB_HIST: {
        uint64_t *h = xcalloc(256, sizeof *h);
        if (ckpt_scale_histogram(m->dst, ckpt_logical_at(m->dst, j.tensor), h, err, sizeof err) < 0) {
            free(h);
            text_side_error(oc->message, sizeof oc->message, "DST", m->dst_path, err);
        } else {
            oc->hist = h;
        }
        break;
    }
    case JOB_COMPARE: {
        char *only = glob_literal(name);
        run_verify(m, only, oc);
        free(only);
        if (oc->result)
            snprintf(oc->message, sizeof oc->message, "compared %s with SRC",
                     text_escape(name, shown, sizeof shown));
        break;
    }
    case JOB_VERIFY:
        run_verify(m, NULL, oc);
        if (oc->result) {
            const verify_result *r = oc->result;
            size_t e = findings_count_sev(r->findings, SEV_ERROR), w = findings_count_sev(r->findings, SEV_WARN);
            snprintf(oc->message, sizeof oc->message, "verify: %s, %zu error%s, %zu warning%s, %.1f s",
                     e ? "FAIL" : "PASS", e, e == 1 ? "" : "s", w, w == 1 ? "" : "s", r->seconds);
        }
        break;
    case JOB_NONE: break;
    }
}

static void *worker_main(void *arg)
{
    tui_model *m = arg;
    sigset_t all; /* signals are the UI thread's: it restores the terminal */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_mutex_lock(&m->mu);
    for (;;) {
        while (!m->stop && m->queued == 0)
            pthread_cond_wait(&m->cv, &m->mu);
        if (m->stop)
            break;
        job j = m->queue[0];
        memmove(m->queue, m->queue + 1, --m->queued * sizeof *m->queue);
        m->running = j;
        m->done_bytes = m->total_bytes = 0;
        atomic_store(&m->cancel, 0);
        pthread_mutex_unlock(&m->mu);
        outcome oc = {.kind = j.kind, .tensor = j.tensor};
        run_job(m, j, &oc);
        pthread_mutex_lock(&m->mu);
        xgrow(&m->outcomes, &m->outcomes_cap, m->noutcomes + 1, sizeof *m->outcomes);
        m->outcomes[m->noutcomes++] = oc;
        m->running.kind = JOB_NONE;
        pthread_cond_broadcast(&m->idle_cv);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* Queues j unless the queue is full (the oldest waiting read gives way: the
 * user has moved on). Called with mu held. */
static void enqueue(tui_model *m, job j)
{
    if (m->queued == QUEUE_CAP) {
        if (m->queue[0].kind == JOB_HIST)
            m->queued_hist[m->queue[0].tensor] = false;
        if (m->queue[0].kind == JOB_COMPARE)
            m->queued_compare[m->queue[0].tensor] = false;
        memmove(m->queue, m->queue + 1, --m->queued * sizeof *m->queue);
    }
    m->queue[m->queued++] = j;
    pthread_cond_signal(&m->cv);
}

void model_request_hist(tui_model *m, size_t i)
{
    if (!m->tensors[i].quantized || m->hist[i] || m->queued_hist[i])
        return;
    if (m->report && m->report_index[i] >= 0 && m->report->tensors[m->report_index[i]].scale_hist.n)
        return; /* the report has it */
    m->queued_hist[i] = true;
    pthread_mutex_lock(&m->mu);
    enqueue(m, (job){JOB_HIST, i});
    pthread_mutex_unlock(&m->mu);
}

bool model_hist(const tui_model *m, size_t i, uint64_t hist[256])
{
    if (m->hist[i]) {
        memcpy(hist, m->hist[i], 256 * sizeof *hist);
        return true;
    }
    if (m->report && m->report_index[i] >= 0) {
        const scale_hist *h = &m->report->tensors[m->report_index[i]].scale_hist;
        if (h->n == 0)
            return false;
        for (unsigned b = 0; b < 256; b++)
            hist[b] = scale_hist_count(h, b);
        return true;
    }
    return false;
}

int model_request_compare(tui_model *m, size_t i, char *err, size_t errlen)
{
    if (!m->src_path) {
        snprintf(err, errlen, "no SRC given: statistics need `tui SRC DST`");
        return -1;
    }
    if (m->queued_compare[i])
        return 0;
    m->queued_compare[i] = true;
    pthread_mutex_lock(&m->mu);
    enqueue(m, (job){JOB_COMPARE, i});
    pthread_mutex_unlock(&m->mu);
    return 0;
}

bool model_compare_stats(const tui_model *m, size_t i, model_stats *out)
{
    const verify_result *r = m->compared[i];
    if (!r)
        return false;
    for (size_t k = 0; k < r->tensor_count; k++) {
        if (strcmp(r->tensors[k].name, m->tensors[i].name) == 0) {
            stats_of(&r->tensors[k], out);
            return true;
        }
    }
    return false;
}

int model_start_verify(tui_model *m, char *err, size_t errlen)
{
    if (!m->src_path) {
        snprintf(err, errlen, "no SRC given: verify needs `tui SRC DST`");
        return -1;
    }
    pthread_mutex_lock(&m->mu);
    bool running = m->running.kind == JOB_VERIFY;
    for (size_t k = 0; k < m->queued; k++)
        running |= m->queue[k].kind == JOB_VERIFY;
    if (!running)
        enqueue(m, (job){JOB_VERIFY, 0});
    pthread_mutex_unlock(&m->mu);
    if (running) {
        snprintf(err, errlen, "a verify is running (x cancels it)");
        return -1;
    }
    return 0;
}

void model_cancel(tui_model *m)
{
    pthread_mutex_lock(&m->mu);
    for (size_t k = 0; k < m->queued; k++) {
        if (m->queue[k].kind == JOB_HIST)
            m->queued_hist[m->queue[k].tensor] = false;
        if (m->queue[k].kind == JOB_COMPARE)
            m->queued_compare[m->queue[k].tensor] = false;
    }
    m->queued = 0;
    if (m->running.kind != JOB_NONE)
        atomic_store(&m->cancel, 1);
    pthread_mutex_unlock(&m->mu);
}

bool model_busy(tui_model *m, model_progress *p)
{
    pthread_mutex_lock(&m->mu);
    bool busy = m->running.kind != JOB_NONE || m->queued > 0;
    if (p) {
        p->job = m->running.kind;
        p->tensor = m->running.tensor;
        p->done = m->done_bytes;
        p->total = m->total_bytes;
        p->queued = m->queued;
    }
    pthread_mutex_unlock(&m->mu);
    return busy;
}

static void apply(tui_model *m, outcome *oc)
{
    if (oc->message[0])
        snprintf(m->message, sizeof m->message, "%s", oc->message);
    switch (oc->kind) {
    case JOB_HIST:
        m->queued_hist[oc->tensor] = false;
        free(m->hist[oc->tensor]);
        m->hist[oc->tensor] = oc->hist;
        break;
    case JOB_COMPARE:
        m->queued_compare[oc->tensor] = false;
        if (oc->result) {
            verify_result_free(m->compared[oc->tensor]);
            m->compared[oc->tensor] = oc->result;
        }
        break;
    case JOB_VERIFY:
        if (oc->result)
            set_report(m, oc->result, "verify");
        break;
    case JOB_NONE: break;
    }
}

bool model_poll(tui_model *m)
{
    pthread_mutex_lock(&m->mu);
    outcome *done = m->outcomes;
    size_t n = m->noutcomes;
    m->outcomes = NULL;
    m->noutcomes = m->outcomes_cap = 0;
    pthread_mutex_unlock(&m->mu);
    for (size_t k = 0; k < n; k++)
        apply(m, &done[k]);
    free(done);
    return n > 0;
}

void model_wait_idle(tui_model *m)
{
    pthread_mutex_lock(&m->mu);
    while (m->running.kind != JOB_NONE || m->queued > 0)
        pthread_cond_wait(&m->idle_cv, &m->mu);
    pthread_mutex_unlock(&m->mu);
}

const char *model_message(const tui_model *m) { return m->message; }

char *model_escape(const char *s, char *out, size_t outlen)
{
    return text_escape(s, out, outlen);
}

/* ---- search -------------------------------------------------------------------- */

struct model_matcher {
    char *text;                 /* plain text: a substring */
    policy_selectors *sel;      /* a glob or re: */
};

model_matcher *model_matcher_new(const char *text, char *err, size_t errlen)
{
    model_matcher *mm = xcalloc(1, sizeof *mm);
    if (strncmp(text, "re:", 3) != 0 && !strchr(text, '*')) {
        mm->text = xstrdup(text);
        return mm;
    }
    size_t bad;
    mm->sel = policy_selectors_new(&text, 1, err, errlen, &bad);
    if (!mm->sel) {
        free(mm);
        return NULL;
    }
    return mm;
}

bool model_matcher_test(model_matcher *mm, const char *name)
{
    if (mm->text)
        return strstr(name, mm->text) != NULL;
    char err[256];
    return policy_selectors_match(mm->sel, name, err, sizeof err) == PYRE_MATCH;
}

void model_matcher_free(model_matcher *mm)
{
    if (!mm)
        return;
    free(mm->text);
    policy_selectors_free(mm->sel);
    free(mm);
}

/* ---- policy ---------------------------------------------------------------------- */

static void origin_text(const policy_rule *r, char *out, size_t outlen)
{
    char id[96], file[128];
    snprintf(out, outlen, "%s %s:%lu", text_escape(r->id, id, sizeof id),
             text_escape(r->at.file, file, sizeof file), r->at.line);
}

static void explain_check(tui_model *m, const policy_match *pm, policy_check pc, const char *fallback,
                          const char *tensor, model_check_row *row)
{
    size_t overridden = 0;
    const policy_rule *r = policy_decide(m->pol, pm, pc, &overridden);
    row->check = policy_check_at(pc)->key;
    row->overrides[0] = '\0';
    if (!r) {
        snprintf(row->value, sizeof row->value, "-");
        row->severity = "-";
        snprintf(row->decided_by, sizeof row->decided_by, "%s", fallback);
        return;
    }
    if (pc == PC_EXPECT)
        snprintf(row->value, sizeof row->value, "%s", policy_expect_name(r->expect));
    else
        snprintf(row->value, sizeof row->value, "%g", r->limit[pc]);
    /* a rule without its own severity raises at its finding id's */
    const char *id = pc == PC_EXPECT ? FIND_SHOULD_KEEP : pc == PC_MAX_NONFINITE ? FIND_NONFINITE : FIND_THRESHOLD;
    severity sev = r->sev;
    policy_origin unused;
    char err[256];
    if (!r->has_severity && policy_severity_of(m->pol, id, tensor, &sev, &unused, err, sizeof err) < 0)
        sev = SEV_ERROR;
    row->severity = severity_name(sev);
    origin_text(r, row->decided_by, sizeof row->decided_by);
    size_t len = 0;
    for (size_t k = 1; k <= overridden && len + 1 < sizeof row->overrides; k++) {
        char one[200];
        origin_text(policy_setter(m->pol, pm, pc, k), one, sizeof one);
        len += (size_t)snprintf(row->overrides + len, sizeof row->overrides - len, "%s%s", k > 1 ? ", " : "", one);
    }
}

int model_explain(tui_model *m, size_t i, model_check_row *checks, size_t *nchecks,
                  model_severity_row *sevs, size_t *nsevs, char *err, size_t errlen)
{
    const model_tensor *t = &m->tensors[i];
    policy_match pm;
    *nchecks = *nsevs = 0;
    if (policy_match_tensor(m->pol, t->name, &pm, err, errlen) < 0)
        return -1;
    char fallback[256], shown[160];
    if (t->pattern >= 0)
        snprintf(fallback, sizeof fallback, "config.json: kept (pattern '%s')",
                 text_escape(model_pattern_at(m, (size_t)t->pattern, NULL), shown, sizeof shown));
    else
        snprintf(fallback, sizeof fallback, "config.json: quantized (no pattern keeps it)");
    explain_check(m, &pm, PC_EXPECT, fallback, t->name, &checks[(*nchecks)++]);
    for (int c = 0; c < PC_LIMIT_COUNT && *nchecks < MODEL_CHECK_ROWS; c++)
        explain_check(m, &pm, (policy_check)c, "no limit", t->name, &checks[(*nchecks)++]);
    int rc = 0;
    for (size_t k = 0; k < finding_kind_count() && *nsevs < MODEL_SEVERITY_ROWS; k++) {
        const finding_kind *fk = finding_kind_at(k);
        severity sev;
        policy_origin at;
        if (fk->group == FG_RULES || fk->group == FG_STRUCTURE)
            continue;
        if (policy_severity_of(m->pol, fk->id, t->name, &sev, &at, err, errlen) < 0) {
            rc = -1;
            break;
        }
        model_severity_row *row = &sevs[(*nsevs)++];
        row->id = fk->id;
        row->severity = severity_name(sev);
        if (at.file)
            snprintf(row->origin, sizeof row->origin, "%s:%lu", text_escape(at.file, shown, sizeof shown),
                     at.line);
        else
            snprintf(row->origin, sizeof row->origin, "(finding table)");
    }
    policy_match_free(&pm);
    return rc;
}

/* test_faults.c - the real binary against failing reads and unreadable files
 * (issue 11: point 6, deliverable 3).
 *
 * The fault shim (tests/support/faultshim.c, built as $MXC_FAULTSHIM) is
 * preloaded into $MXC_BIN and fails one chosen read of one chosen file with
 * EIO, ENOMEM, EINTR, a short read or an early end of file. The sweep first
 * counts the reads of every file (a run with the shim only counting), then
 * runs the binary once per read of every file and per fault kind, and checks:
 *   - EINTR and a short read are retried: the run ends exactly as the
 *     unfaulted one (status, stdout, stderr and reports, timings aside);
 *   - EIO, ENOMEM and an early end of file end with exit 2 and a message
 *     naming the side (SRC or DST, for verify), the file and the fault;
 *   - never a signal, a hang, a sanitizer report, exit 1 (a finding the
 *     checkpoint does not have) or a partial report: a report file is
 *     absent or complete, and no temporary file is left beside it.
 * A file read more than SWEEP_ALL_READS times gets SWEEP_ALL_READS of its
 * reads faulted, the first, the last and an even spread between (the fixture
 * stays under the bound today: every read of every file is swept). verify
 * reads tensor data with several threads, so the Nth read of a shard is not
 * always the same read: each run faults one of them, and all must end alike.
 *
 * The faults that used to be misnamed (point 6) have a named test each. The
 * permission cases run the binary as nobody (setpriv) when the suite runs as
 * root, whom mode 000 does not stop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner.h"

#define FIXTURE_SET "seedconv-small"
#define SWEEP_ALL_READS 64 /* reads per file swept one by one; beyond, a spread */
#define MAX_FILES 64       /* distinct files one run reads */
#define MAX_ARGV 32
#define MAX_REPORTED 12    /* failing runs described in full */
#define NOBODY "65534"

static const char *const kinds[] = {"eio", "enomem", "eintr", "short", "eof"};

/* ---- paths --------------------------------------------------------------- */

/* snprintf that fails the test instead of cutting a path or a needle short. */
static void fmt(char *out, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *out, size_t len, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(out, len, f, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len)
        fail_msg("a string of %d bytes does not fit in %zu", n, len);
}

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set (run through `make test`)", name);
    return v;
}

typedef struct {
    char root[RUN_PATH_MAX], src[RUN_PATH_MAX], dst[RUN_PATH_MAX]; /* resolved, as the shim sees them */
    const char *bin, *shim;
} paths;

static const paths *P(void)
{
    static paths p;
    static bool done;
    if (!done) {
        char set[RUN_PATH_MAX], root[PATH_MAX];
        fmt(set, sizeof set, "%s/%s", env_or_fail("MXC_FIXTURES"), FIXTURE_SET);
        if (!realpath(set, root))
            fail_msg("fixture %s not found", set);
        fmt(p.root, sizeof p.root, "%s", root);
        fmt(p.src, sizeof p.src, "%s/bf16", root);
        fmt(p.dst, sizeof p.dst, "%s/mxfp4", root);
        p.bin = env_or_fail("MXC_BIN");
        p.shim = env_or_fail("MXC_FAULTSHIM");
        done = true;
    }
    return &p;
}

static void path_in(char *out, const char *dir, const char *name)
{
    assert_int_equal(run_join(out, RUN_PATH_MAX, dir, name), 0);
}

static bool exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* ---- one run ------------------------------------------------------------- */

/* What a scenario runs: $MXC_BIN with args; "@JSON" and "@JUNIT" stand for
 * report paths in the run's report directory. */
typedef struct {
    const char *name;
    const char *args[8];
    bool sides;        /* verify: messages name SRC or DST */
    bool json_stdout;  /* inspect --json: stdout is a report */
} scenario;

typedef struct {
    const char *file;  /* NULL: no fault */
    unsigned long nth; /* 0 with a file: count only */
    const char *kind;
} fault;

typedef struct {
    int status, signal;
    bool exited;       /* by itself, in time */
    char *out, *err;   /* stdout (timings removed), stderr */
    char *json, *junit; /* normalized reports; NULL when absent */
    bool json_seen, junit_seen;
    char *log;         /* the shim's log */
    char *stray;       /* names in the report directory that are no report */
} outcome;

typedef struct {
    char reports[RUN_PATH_MAX], log[RUN_PATH_MAX];
    char json[RUN_PATH_MAX], junit[RUN_PATH_MAX];
} workdir;

static void outcome_free(outcome *o)
{
    free(o->out);
    free(o->err);
    free(o->json);
    free(o->junit);
    free(o->log);
    free(o->stray);
    memset(o, 0, sizeof *o);
}

static char *dup_or_die(const char *s)
{
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

/* s without its lines that hold `needle` (the summary line with timings). */
static char *drop_lines(const char *s, const char *needle)
{
    char *out = calloc(1, strlen(s) + 1);
    assert_non_null(out);
    char *w = out;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) + 1 : strlen(s);
        char line[4096];
        snprintf(line, sizeof line, "%.*s", (int)len, s);
        if (!strstr(line, needle)) {
            memcpy(w, s, len);
            w += len;
        }
        s += len;
    }
    return out;
}

/* s without its ` time="..."` attributes. */
static char *drop_times(const char *s)
{
    char *out = calloc(1, strlen(s) + 1);
    assert_non_null(out);
    char *w = out;
    while (*s) {
        if (strncmp(s, " time=\"", 7) == 0) {
            const char *q = strchr(s + 7, '"');
            if (q) {
                s = q + 1;
                continue;
            }
        }
        *w++ = *s++;
    }
    return out;
}

static void drop_seconds(cJSON *j)
{
    if (!j)
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(j, "seconds");
    cJSON_DeleteItemFromObjectCaseSensitive(j, "started"); /* tool.started: the clock */
    for (cJSON *c = j->child; c; c = c->next)
        drop_seconds(c);
}

/* The JSON text without "seconds" members, or "(not JSON)". */
static char *normal_json(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    if (!j)
        return dup_or_die("(not JSON)");
    drop_seconds(j);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    assert_non_null(s);
    return s;
}

/* A JUnit file that is whole: it ends with the closing tag. */
static char *normal_junit(const char *text)
{
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
        n--;
    const char *tail = "</testsuites>";
    if (n < strlen(tail) || strncmp(text + n - strlen(tail), tail, strlen(tail)) != 0)
        return dup_or_die("(not a whole JUnit file)");
    char *untimed = drop_times(text), *out = drop_lines(untimed, "\"tool.started\"");
    free(untimed);
    return out;
}

static char *read_or_null(const char *path, bool *seen)
{
    char *text = NULL;
    *seen = exists(path);
    if (*seen && run_read_file(path, &text, NULL) < 0)
        fail_msg("cannot read %s", path);
    return text;
}

static char *stray_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    char buf[2048] = "";
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (strcmp(n, ".") && strcmp(n, "..") && strcmp(n, "r.json") && strcmp(n, "r.xml"))
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s ", n);
    }
    closedir(d);
    return dup_or_die(buf);
}

static void workdir_make(workdir *w, const char *base)
{
    path_in(w->reports, base, "reports");
    path_in(w->log, base, "fault.log");
    path_in(w->json, w->reports, "r.json");
    path_in(w->junit, w->reports, "r.xml");
    assert_true(mkdir(w->reports, 0755) == 0 || exists(w->reports));
}

static void workdir_clean(const workdir *w)
{
    assert_int_equal(run_rmtree(w->reports), 0);
    assert_int_equal(mkdir(w->reports, 0755), 0);
    unlink(w->log);
}

/* The command line of a run: env with the shim's settings, then the binary. */
static void build_argv(const scenario *s, const fault *f, const workdir *w,
                       char vars[6][RUN_PATH_MAX + 32], const char **argv)
{
    int n = 0;
    argv[n++] = "env";
    if (f->file) {
        const char *asan = getenv("ASAN_OPTIONS");
        /* the shim comes before the sanitizer runtime in the library list */
        snprintf(vars[0], sizeof vars[0], "ASAN_OPTIONS=%s%sverify_asan_link_order=0", asan ? asan : "",
                 asan && *asan ? ":" : "");
        fmt(vars[1], sizeof vars[1], "LD_PRELOAD=%s", P()->shim);
        fmt(vars[2], sizeof vars[2], "MXC_FAULT_FILE=%s", f->file);
        snprintf(vars[3], sizeof vars[3], "MXC_FAULT_NTH=%lu", f->nth);
        snprintf(vars[4], sizeof vars[4], "MXC_FAULT_KIND=%s", f->kind ? f->kind : "none");
        fmt(vars[5], sizeof vars[5], "MXC_FAULT_LOG=%s", w->log);
        for (int i = 0; i < 6; i++)
            argv[n++] = vars[i];
    }
    argv[n++] = P()->bin;
    for (int i = 0; s->args[i]; i++)
        argv[n++] = strcmp(s->args[i], "@JSON") == 0    ? w->json
                    : strcmp(s->args[i], "@JUNIT") == 0 ? w->junit
                                                        : s->args[i];
    argv[n] = NULL;
}

/* The command as a shell line, for a failure message. */
static void describe(const char *const *argv, char *out, size_t outlen)
{
    out[0] = '\0';
    for (int i = 0; argv[i]; i++)
        snprintf(out + strlen(out), outlen - strlen(out), "%s%s", i ? " " : "", argv[i]);
}

static void run_scenario(const scenario *s, const fault *f, const workdir *w, outcome *o, char *cmd,
                         size_t cmdlen)
{
    char vars[6][RUN_PATH_MAX + 32];
    const char *argv[MAX_ARGV];
    workdir_clean(w);
    build_argv(s, f, w, vars, argv);
    describe(argv, cmd, cmdlen);
    run_result r = {0};
    memset(o, 0, sizeof *o);
    o->exited = run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, &r) == 0;
    o->status = r.status;
    o->signal = r.signal;
    if (s->json_stdout) {
        o->out = normal_json(r.out);
    } else { /* timings and the start time differ from run to run */
        char *timed = drop_lines(r.out, " read in ");
        o->out = drop_lines(timed, ", started ");
        free(timed);
    }
    if (s->json_stdout && r.out_len == 0) {
        free(o->out);
        o->out = dup_or_die("");
    }
    o->err = dup_or_die(r.err);
    run_result_free(&r);
    char *text = read_or_null(w->json, &o->json_seen);
    o->json = text ? normal_json(text) : NULL;
    free(text);
    text = read_or_null(w->junit, &o->junit_seen);
    o->junit = text ? normal_junit(text) : NULL;
    free(text);
    bool seen;
    o->log = read_or_null(w->log, &seen);
    if (!o->log)
        o->log = dup_or_die("");
    o->stray = stray_entries(w->reports);
}

/* ---- judging a run ------------------------------------------------------- */

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool retryable(const char *kind)
{
    return strcmp(kind, "eintr") == 0 || strcmp(kind, "short") == 0;
}

static const char *fault_phrase(const char *kind)
{
    return strcmp(kind, "eio") == 0      ? "Input/output error"
           : strcmp(kind, "enomem") == 0 ? "Cannot allocate memory"
                                         : "ended early";
}

static bool sanitizer_report(const outcome *o)
{
    return strstr(o->err, "Sanitizer") || strstr(o->err, "runtime error:");
}

/* What is wrong with outcome o of fault f, against the unfaulted run base;
 * "" when nothing is. */
static void judge(const scenario *s, const fault *f, const outcome *base, const outcome *o, char *why,
                  size_t whylen)
{
    why[0] = '\0';
    char mark[RUN_PATH_MAX + 64];
    fmt(mark, sizeof mark, "fault %s %lu %s\n", f->kind, f->nth, f->file);
    char skipped[RUN_PATH_MAX + 64];
    snprintf(skipped, sizeof skipped, "not-injected short %lu ", f->nth);
    bool injected = strstr(o->log, mark) != NULL;
    if (!o->exited)
        snprintf(why, whylen, "did not exit by itself (signal %d)", o->signal);
    else if (sanitizer_report(o))
        snprintf(why, whylen, "sanitizer report");
    else if (!injected && !strstr(o->log, skipped))
        snprintf(why, whylen, "the shim did not inject the fault (log:\n%s)", o->log);
    else if (*o->stray)
        snprintf(why, whylen, "left in the report directory: %s", o->stray);
    else if (retryable(f->kind) || !injected) {
        if (o->status != base->status)
            snprintf(why, whylen, "exit %d, the unfaulted run exits %d", o->status, base->status);
        else if (!same(o->out, base->out))
            snprintf(why, whylen, "stdout differs from the unfaulted run's:\n%s", o->out);
        else if (!same(o->err, base->err))
            snprintf(why, whylen, "stderr differs from the unfaulted run's");
        else if (!same(o->json, base->json) || !same(o->junit, base->junit))
            snprintf(why, whylen, "a report differs from the unfaulted run's");
        return;
    } else if (o->status != 2)
        snprintf(why, whylen, "exit %d, expected 2", o->status);
    else if (!strstr(o->err, strrchr(f->file, '/') + 1) || !strstr(o->err, fault_phrase(f->kind)))
        snprintf(why, whylen, "stderr does not name the file and \"%s\"", fault_phrase(f->kind));
    else if (s->sides && !strstr(o->err, under(f->file, P()->src) ? "SRC" : "DST"))
        snprintf(why, whylen, "stderr does not name %s", under(f->file, P()->src) ? "SRC" : "DST");
    else if ((o->json_seen && strcmp(o->json, "(not JSON)") == 0) ||
             (o->junit_seen && strncmp(o->junit, "(not", 4) == 0))
        snprintf(why, whylen, "a partial report file");
    else if (s->json_stdout && *o->out && strcmp(o->out, "(not JSON)") == 0)
        snprintf(why, whylen, "partial JSON on stdout");
}

/* ---- the sweep ----------------------------------------------------------- */

typedef struct {
    char path[RUN_PATH_MAX];
    unsigned long reads;
} file_reads;

/* Distinct files of the "read N PATH" lines of a log, with their counts. */
static size_t count_reads(const char *log, file_reads *files, size_t max)
{
    size_t n = 0;
    memset(files, 0, max * sizeof *files);
    for (const char *line = log; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        unsigned long k;
        int off = 0;
        if (sscanf(line, "read %lu %n", &k, &off) == 1 && off > 0) {
            char path[RUN_PATH_MAX];
            snprintf(path, sizeof path, "%.*s", (int)(len - (size_t)off), line + off);
            size_t i = 0;
            while (i < n && strcmp(files[i].path, path) != 0)
                i++;
            if (i == n) {
                assert_true(n < max);
                snprintf(files[n++].path, RUN_PATH_MAX, "%s", path);
            }
            files[i].reads++;
        }
        line += len + (nl ? 1 : 0);
    }
    return n;
}

/* The i-th of the reads of a file that the sweep faults (from 1). */
static unsigned long swept_read(unsigned long reads, unsigned long i)
{
    if (reads <= SWEEP_ALL_READS)
        return i + 1;
    return 1 + i * (reads - 1) / (SWEEP_ALL_READS - 1);
}

typedef struct {
    unsigned long runs, failed;
    char report[16384];
} tally;

static void note_failure(tally *t, const char *cmd, const char *why, const outcome *o)
{
    if (++t->failed > MAX_REPORTED)
        return;
    snprintf(t->report + strlen(t->report), sizeof t->report - strlen(t->report),
             "\n- %s\n  %s (exit %d)\n  stderr: %.400s", cmd, why, o->status, o->err);
}

/* The unfaulted run, and the files it reads with their counts. */
static size_t baseline(const scenario *s, const workdir *w, outcome *base, file_reads *files)
{
    char cmd[8192];
    outcome plain;
    run_scenario(s, &(fault){NULL, 0, NULL}, w, &plain, cmd, sizeof cmd);
    run_scenario(s, &(fault){P()->root, 0, "none"}, w, base, cmd, sizeof cmd);
    if (!base->exited || sanitizer_report(base) || base->status != 0)
        fail_msg("%s: the unfaulted run fails (exit %d):\n%s", cmd, base->status, base->err);
    /* the idle shim is invisible: what is compared below is the binary's */
    if (!same(plain.out, base->out) || !same(plain.err, base->err) || !same(plain.json, base->json) ||
        !same(plain.junit, base->junit) || plain.status != base->status)
        fail_msg("%s: a run with the idle shim differs from one without", cmd);
    outcome_free(&plain);
    size_t n = count_reads(base->log, files, MAX_FILES);
    if (n == 0)
        fail_msg("%s: the shim counted no read (no /proc/self/fd?)", cmd);
    return n;
}

static void sweep(const scenario *s, const char *const *must_read, void **state)
{
    workdir w;
    workdir_make(&w, *state);
    outcome base;
    static file_reads files[MAX_FILES];
    size_t nfiles = baseline(s, &w, &base, files);
    for (size_t i = 0; must_read[i]; i++) {
        size_t j = 0;
        while (j < nfiles && strcmp(files[j].path, must_read[i]) != 0)
            j++;
        if (j == nfiles)
            fail_msg("%s: %s is never read (the shim does not see the binary's reads?)", s->name,
                     must_read[i]);
    }
    tally t = {0};
    for (size_t fi = 0; fi < nfiles; fi++) {
        unsigned long swept = files[fi].reads < SWEEP_ALL_READS ? files[fi].reads : SWEEP_ALL_READS;
        for (unsigned long i = 0; i < swept; i++) {
            for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
                fault f = {files[fi].path, swept_read(files[fi].reads, i), kinds[k]};
                outcome o;
                char cmd[8192], why[4096];
                run_scenario(s, &f, &w, &o, cmd, sizeof cmd);
                judge(s, &f, &base, &o, why, sizeof why);
                t.runs++;
                if (*why)
                    note_failure(&t, cmd, why, &o);
                outcome_free(&o);
            }
        }
    }
    outcome_free(&base);
    print_message("%s: %lu faulted runs over %zu files\n", s->name, t.runs, nfiles);
    if (t.failed)
        fail_msg("%s: %lu of %lu faulted runs went wrong; the first:%s", s->name, t.failed, t.runs,
                 t.report);
}

/* Files the binary must be seen reading: a shim that sees none of its reads
 * would make every sweep pass. */
static void must_read_list(const char *dir, const char *const *names, char (*buf)[RUN_PATH_MAX],
                           const char **list)
{
    size_t n = 0;
    while (list[n])
        n++;
    for (size_t i = 0; names[i]; i++, n++) {
        path_in(buf[n], dir, names[i]);
        list[n] = buf[n];
    }
    list[n] = NULL;
}

static void test_sweep_verify(void **state)
{
    const paths *p = P();
    scenario s = {"verify", {"verify", p->src, p->dst, "--json", "@JSON", "--junit", "@JUNIT", NULL},
                  .sides = true};
    static char buf[16][RUN_PATH_MAX];
    const char *must_read[17] = {NULL};
    const char *src[] = {"model.safetensors.index.json", "config.json", "tokenizer.json",
                         "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", NULL};
    const char *dst[] = {"model.safetensors.index.json", "config.json", "tokenizer.json",
                         "model-00000.safetensors", "model-00001.safetensors", NULL};
    must_read_list(p->src, src, buf, must_read);
    must_read_list(p->dst, dst, buf, must_read);
    sweep(&s, must_read, state);
}

static void test_sweep_inspect(void **state)
{
    const paths *p = P();
    static char buf[8][RUN_PATH_MAX];
    const char *must_read[9] = {NULL};
    const char *dst[] = {"model.safetensors.index.json", "config.json", "model-00000.safetensors",
                         "model-00001.safetensors", NULL};
    must_read_list(p->dst, dst, buf, must_read);
    scenario json = {"inspect --json", {"inspect", p->dst, "--json", NULL}, .json_stdout = true};
    sweep(&json, must_read, state);
    const char *none[] = {NULL};
    scenario text = {"inspect", {"inspect", p->src, NULL}, .sides = false};
    sweep(&text, none, state);
}

/* ---- point 6: faults named as what they are ------------------------------ */

/* verify SRC DST with one fault; the run must end with exit 2. Returns the
 * outcome (caller frees). */
static void verify_faulted(void **state, const char *side_dir, const char *file, unsigned long nth,
                           const char *kind, outcome *o)
{
    workdir w;
    workdir_make(&w, *state);
    char path[RUN_PATH_MAX], cmd[8192];
    path_in(path, side_dir, file);
    scenario s = {"verify", {"verify", P()->src, P()->dst, NULL}, .sides = true};
    run_scenario(&s, &(fault){path, nth, kind}, &w, o, cmd, sizeof cmd);
    if (!o->exited || sanitizer_report(o))
        fail_msg("%s: did not exit cleanly:\n%s", cmd, o->err);
    char mark[RUN_PATH_MAX + 64];
    fmt(mark, sizeof mark, "fault %s %lu %s\n", kind, nth, path);
    if (!strstr(o->log, mark))
        fail_msg("%s: the fault was not injected; log:\n%s", cmd, o->log);
    if (o->status != 2)
        fail_msg("%s: exit %d, expected 2\nstdout: %s\nstderr: %s", cmd, o->status, o->out, o->err);
}

/* "DST 'the fixture's DST': " followed by rest (a static buffer). */
static const char *dst_says(const char *rest)
{
    static char buf[3 * RUN_PATH_MAX];
    snprintf(buf, sizeof buf, "DST '%s': %s", P()->dst, rest);
    return buf;
}

static void assert_has(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("\"%s\" not in:\n%s", needle, hay);
}

static void assert_lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("\"%s\" in:\n%s", needle, hay);
}

/* Comparing the copied tokenizer files: a read fault on either side is that
 * fault (exit 2), not "tokenizer.json differs" (exit 1). */
static void test_copied_file_read_fault_is_named(void **state)
{
    const char *faults[] = {"eio", "enomem", "eof"};
    for (int side = 0; side < 2; side++) {
        for (int k = 0; k < 3; k++) {
            outcome o;
            verify_faulted(state, side ? P()->dst : P()->src, "tokenizer.json", 1, faults[k], &o);
            char expect[3 * RUN_PATH_MAX];
            snprintf(expect, sizeof expect, "%s '%s': tokenizer.json: ", side ? "DST" : "SRC",
                     side ? P()->dst : P()->src);
            assert_has(o.err, expect);
            assert_has(o.err, fault_phrase(faults[k]));
            assert_lacks(o.err, "differs");
            outcome_free(&o);
        }
    }
}

/* EIO on the 8-byte header length or on the header of a shard is EIO, not a
 * short file; an early end of either is that, at the byte where it came. */
static void test_shard_header_read_fault_is_named(void **state)
{
    static const char *const what[] = {"the 8-byte header length: ", "the header: "};
    static const char *const at[] = {"at byte 0", "at byte 8"};
    for (unsigned long nth = 1; nth <= 2; nth++) {
        outcome o;
        verify_faulted(state, P()->dst, "model-00000.safetensors", nth, "eio", &o);
        assert_has(o.err, dst_says("model-00000.safetensors: "));
        assert_has(o.err, what[nth - 1]);
        assert_has(o.err, "read failed");
        assert_has(o.err, at[nth - 1]);
        assert_has(o.err, "Input/output error");
        assert_lacks(o.err, "shorter than");
        assert_lacks(o.err, "ended early");
        outcome_free(&o);
        verify_faulted(state, P()->dst, "model-00000.safetensors", nth, "eof", &o);
        assert_has(o.err, dst_says("model-00000.safetensors: "));
        assert_has(o.err, what[nth - 1]);
        assert_has(o.err, "file ended early");
        assert_has(o.err, at[nth - 1]);
        assert_lacks(o.err, "shorter than the 8-byte");
        outcome_free(&o);
    }
}

/* ---- point 6: unreadable files and directories --------------------------- */

typedef struct {
    char dir[RUN_PATH_MAX], src[RUN_PATH_MAX], dst[RUN_PATH_MAX];
} perm_case;

/* Copies of the fixture in a temp dir that nobody may enter (the binary may
 * run as nobody, below). */
static void perm_setup_copies(void **state, perm_case *c)
{
    fmt(c->dir, sizeof c->dir, "%s", (const char *)*state);
    path_in(c->src, c->dir, "bf16");
    path_in(c->dst, c->dir, "mxfp4");
    assert_int_equal(chmod(c->dir, 0755), 0);
    assert_int_equal(run_copy_dir(P()->src, c->src), 0);
    assert_int_equal(run_copy_dir(P()->dst, c->dst), 0);
}

/* Runs `mxfp4-check verify SRC DST` where mode bits count: as nobody when the
 * suite runs as root. Skips when that cannot be arranged. */
static void run_unprivileged(const perm_case *c, run_result *r)
{
    const char *direct[] = {P()->bin, "verify", c->src, c->dst, NULL};
    const char *dropped[] = {"setpriv", "--reuid=" NOBODY, "--regid=" NOBODY, "--clear-groups",
                             P()->bin, "verify", c->src, c->dst, NULL};
    const char *probe[] = {"setpriv", "--reuid=" NOBODY, "--regid=" NOBODY, "--clear-groups",
                           P()->bin, "--version", NULL};
    const char *const *argv = direct;
    if (geteuid() == 0) {
        run_result pr = {0};
        int rc = run_cmd(probe, RUN_DEFAULT_TIMEOUT_S, &pr);
        int status = pr.status;
        run_result_free(&pr);
        if (rc != 0 || status != 0) {
            print_message("running as root, and `setpriv --reuid=" NOBODY " %s --version` fails: "
                          "mode 000 does not stop root, so this case cannot be tested here\n",
                          P()->bin);
            skip();
        }
        argv = dropped;
    }
    if (run_cmd(argv, RUN_DEFAULT_TIMEOUT_S, r) != 0)
        fail_msg("verify did not exit by itself (signal %d)\n%s", r->signal, r->err);
    if (strstr(r->err, "Sanitizer") || strstr(r->err, "runtime error:"))
        fail_msg("sanitizer report:\n%s", r->err);
}

static int perm_teardown(void **state)
{
    /* give back what the test took away, so that the tree can be removed */
    char path[RUN_PATH_MAX];
    const char *dirs[] = {"bf16", "mxfp4"}, *files[] = {"tokenizer.json", "config.json"};
    for (int i = 0; i < 2; i++) {
        if (run_join(path, sizeof path, *state, dirs[i]) == 0)
            chmod(path, 0755);
        for (int j = 0; j < 2; j++) {
            char file[RUN_PATH_MAX];
            if (run_join(file, sizeof file, path, files[j]) == 0)
                chmod(file, 0644);
        }
    }
    return run_tmpdir_teardown(state);
}

/* A DST directory of mode 000 cannot be read: not "no index in it". */
static void test_unreadable_dst_dir(void **state)
{
    perm_case c;
    perm_setup_copies(state, &c);
    assert_int_equal(chmod(c.dst, 0), 0);
    run_result r = {0};
    run_unprivileged(&c, &r);
    if (r.status != 2)
        fail_msg("exit %d, expected 2\nstderr: %s", r.status, r.err);
    char expect[3 * RUN_PATH_MAX];
    snprintf(expect, sizeof expect, "mxfp4-check verify: DST '%s': ", c.dst);
    assert_has(r.err, expect);
    assert_has(r.err, "Permission denied");
    assert_lacks(r.err, "no model.safetensors.index.json");
    run_result_free(&r);
}

/* An unreadable tokenizer.json (either side) cannot be opened: not "is not a
 * regular file", and not a finding either (exit 2). */
static void test_unreadable_copied_file(void **state)
{
    perm_case c;
    perm_setup_copies(state, &c);
    for (int side = 0; side < 2; side++) {
        char path[RUN_PATH_MAX];
        path_in(path, side ? c.dst : c.src, "tokenizer.json");
        assert_int_equal(chmod(path, 0), 0);
        run_result r = {0};
        run_unprivileged(&c, &r);
        if (r.status != 2)
            fail_msg("%s: exit %d, expected 2\nstdout: %s\nstderr: %s", path, r.status, r.out, r.err);
        char expect[3 * RUN_PATH_MAX];
        snprintf(expect, sizeof expect, "%s '%s': tokenizer.json: cannot open: Permission denied",
                 side ? "DST" : "SRC", side ? c.dst : c.src);
        assert_has(r.err, expect);
        assert_lacks(r.err, "not a regular file");
        run_result_free(&r);
        assert_int_equal(chmod(path, 0644), 0);
    }
}

/* An unreadable config.json is not a missing one. */
static void test_unreadable_config(void **state)
{
    perm_case c;
    perm_setup_copies(state, &c);
    char path[RUN_PATH_MAX];
    path_in(path, c.dst, "config.json");
    assert_int_equal(chmod(path, 0), 0);
    run_result r = {0};
    run_unprivileged(&c, &r);
    if (r.status != 2)
        fail_msg("exit %d, expected 2\nstdout: %s\nstderr: %s", r.status, r.out, r.err);
    char expect[3 * RUN_PATH_MAX];
    snprintf(expect, sizeof expect, "DST '%s': config.json: cannot open: Permission denied", c.dst);
    assert_has(r.err, expect);
    run_result_free(&r);
}

static int setup(void **state)
{
    return run_tmpdir_setup(state, "faults");
}

static int teardown(void **state)
{
    return run_tmpdir_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_copied_file_read_fault_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shard_header_read_fault_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_dst_dir, setup, perm_teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_copied_file, setup, perm_teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_config, setup, perm_teardown),
        cmocka_unit_test_setup_teardown(test_sweep_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_inspect, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

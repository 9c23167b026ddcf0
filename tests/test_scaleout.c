/* test_scaleout.c - a verification split across hosts (SPEC §10), run as the
 * real binary: the parts of `verify --shard I/N` merged back give the very
 * report one process gives (findings in the same order, waivers used in one
 * part and not another, statistics, statuses, counts), on ../shared/fixtures
 * and on a generated checkpoint of hundreds of tensors with faults planted
 * in several parts; a part missing, given twice, of another plan, edited or
 * cut short is refused; a part that stops on unreadable input fails the
 * merge with its fault; --shard auto reads Slurm's variables; and mpirun -n 3
 * on an MPI build (skipped, saying so, on another build) gives the same
 * report from every rank's part. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json_check.h"
#include "runner.h"

#define FIXTURE_SET "seedconv-small"
#define MAX_ARGS 40
#define MAX_PARTS 8
#define GEN_LAYERS "40"          /* 683 tensors in the generated checkpoint */
#define NIBBLE "model.layers.1.mlp.experts.down_proj"
#define BIASED "model.layers.33.mlp.experts.gate_up_proj"
#define DROPPED "model.layers.20.self_attn.q_proj.weight"
#define FLIPPED "model.layers.38.self_attn.k_proj.weight"

typedef struct {
    char tmp[RUN_PATH_MAX];
    char fx_src[RUN_PATH_MAX], fx_dst[RUN_PATH_MAX];
    char gen_src[RUN_PATH_MAX], gen_dst[RUN_PATH_MAX], rules[RUN_PATH_MAX];
} paths;

static paths P;

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        fail_msg("%s is not set (run through `make test`)", name);
    return v;
}

static char *in_tmp(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *in_tmp(const char *fmt, ...)
{
    static char buf[16][RUN_PATH_MAX];
    static int next;
    char name[256], *p = buf[next++ % 16];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    if (run_join(p, RUN_PATH_MAX, P.tmp, name) < 0)
        fail_msg("path too long");
    return p;
}

static int run_list(run_result *r, const char *const *argv)
{
    if (run_cmd(argv, 120, r) != 0)
        fail_msg("%s: did not exit normally (signal %d)\nstderr: %s", argv[1] ? argv[1] : argv[0], r->signal,
                 r->err);
    if (strstr(r->err, "Sanitizer") || strstr(r->err, "runtime error:"))
        fail_msg("sanitizer report:\n%s", r->err);
    return r->status;
}

/* argv[0] = bin, then the NULL-terminated arguments; the exit status. */
static int run_v(run_result *r, const char *bin, const char *first, va_list ap)
{
    const char *argv[MAX_ARGS + 2] = {bin};
    int n = 1;
    for (const char *a = first; a; a = va_arg(ap, const char *)) {
        assert_true(n <= MAX_ARGS);
        argv[n++] = a;
    }
    return run_list(r, argv);
}

static int mxc(run_result *r, const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    int rc = run_v(r, env_or_fail("MXC_BIN"), first, ap);
    va_end(ap);
    return rc;
}

/* A tool of tests/tools, which must succeed. */
static void tool(const char *name, const char *first, ...)
{
    char bin[RUN_PATH_MAX];
    snprintf(bin, sizeof bin, "%s/%s", env_or_fail("MXC_TOOLS"), name);
    run_result r;
    va_list ap;
    va_start(ap, first);
    int rc = run_v(&r, bin, first, ap);
    va_end(ap);
    if (rc != 0)
        fail_msg("%s failed (%d): %s", name, rc, r.err);
    run_result_free(&r);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

static cJSON *load(const char *path)
{
    char *text;
    if (run_read_file(path, &text, NULL) < 0)
        fail_msg("cannot read %s", path);
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j)
        fail_msg("%s is not JSON", path);
    return j;
}

static int setup(void **state)
{
    (void)state;
    const char *fx = env_or_fail("MXC_FIXTURES");
    snprintf(P.fx_src, sizeof P.fx_src, "%s/%s/bf16", fx, FIXTURE_SET);
    snprintf(P.fx_dst, sizeof P.fx_dst, "%s/%s/mxfp4", fx, FIXTURE_SET);
    return run_mkdtemp("scaleout", P.tmp, sizeof P.tmp);
}

static int teardown(void **state)
{
    (void)state;
    return run_rmtree(P.tmp);
}

/* ---- single run, parts, merge --------------------------------------------- */

/* The report without what may differ between runs: when and how it ran. */
static cJSON *without_timings(cJSON *j)
{
    cJSON *tool = cJSON_GetObjectItemCaseSensitive(j, "tool");
    cJSON_DeleteItemFromObjectCaseSensitive(tool, "started");
    cJSON_DeleteItemFromObjectCaseSensitive(tool, "argv");
    cJSON_DeleteItemFromObjectCaseSensitive(tool, "devices");
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "summary"), "seconds");
    return j;
}

/* The first top-level member where a and b differ, for the message. */
static const char *first_difference(const cJSON *a, const cJSON *b)
{
    for (const cJSON *m = a->child; m; m = m->next)
        if (!cJSON_Compare(m, cJSON_GetObjectItemCaseSensitive(b, m->string), 1))
            return m->string;
    return "(a member only the merge has)";
}

static void assert_same_report(const char *single, const char *merged)
{
    cJSON *a = without_timings(load(single)), *b = without_timings(load(merged));
    if (!cJSON_Compare(a, b, 1))
        fail_msg("the merged report %s differs from the single run's %s at \"%s\"", merged, single,
                 first_difference(a, b));
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* verify SRC DST [extra] --json OUT --quiet; returns the exit status. */
static int verify_to(const char *src, const char *dst, const char *rules, const char *shard, const char *out)
{
    run_result r;
    int rc = rules && shard ? mxc(&r, "verify", src, dst, "--rules", rules, "--shard", shard, "--json", out, "--quiet", NULL)
             : rules        ? mxc(&r, "verify", src, dst, "--rules", rules, "--json", out, "--quiet", NULL)
             : shard        ? mxc(&r, "verify", src, dst, "--shard", shard, "--json", out, "--quiet", NULL)
                            : mxc(&r, "verify", src, dst, "--json", out, "--quiet", NULL);
    if (rc == 2 && !strstr(r.err, "input.unreadable") && !strstr(r.err, "cannot open"))
        fail_msg("verify %s: %s", shard ? shard : "", r.err);
    run_result_free(&r);
    return rc;
}

/* merge the parts[0..n) (as given) to out; returns the exit status, r kept. */
static int merge_list(run_result *r, char *const *parts, int n, const char *out)
{
    const char *argv[MAX_ARGS + 2] = {env_or_fail("MXC_BIN"), "merge"};
    int k = 2;
    for (int i = 0; i < n; i++)
        argv[k++] = parts[i];
    argv[k++] = "--json";
    argv[k++] = out;
    argv[k++] = "--quiet";
    return run_list(r, argv);
}

static char part_paths[MAX_PARTS][RUN_PATH_MAX];
static char *part_list[MAX_PARTS];

/* Runs the N parts (part i's exit status into status[i]) and names them. */
static void run_parts(const char *tag, const char *src, const char *dst, const char *rules, int n, int *status)
{
    for (int i = 0; i < n; i++) {
        char shard[16];
        snprintf(shard, sizeof shard, "%d/%d", i, n);
        snprintf(part_paths[i], RUN_PATH_MAX, "%s", in_tmp("%s-part%d-of-%d.json", tag, i, n));
        part_list[i] = part_paths[i];
        status[i] = verify_to(src, dst, rules, shard, part_paths[i]);
    }
}

/* For N = 1..max: the parts merged equal the single run, the merge exits as
 * the single run did, and every part is a partial report `report` reads. */
static void parts_equal_single(const char *tag, const char *src, const char *dst, const char *rules, int max,
                               int want_rc)
{
    char *single = in_tmp("%s-single.json", tag);
    assert_int_equal(verify_to(src, dst, rules, NULL, single), want_rc);
    for (int n = 1; n <= max; n++) {
        int status[MAX_PARTS];
        run_parts(tag, src, dst, rules, n, status);
        for (int i = 0; i < n; i++) {
            cJSON *j = load(part_paths[i]);
            const cJSON *scope = member(j, "scope");
            char shard[16];
            snprintf(shard, sizeof shard, "%d/%d", i, n);
            assert_string_equal(str_member(scope, "shard"), shard);
            assert_true(cJSON_IsFalse(member(scope, "complete")));
            assert_true(cJSON_IsObject(member(scope, "plan")));
            cJSON_Delete(j);
            run_result r;
            int rc = mxc(&r, "report", part_paths[i], "--quiet", NULL);
            assert_int_equal(rc, status[i]); /* a part's own verdict, as it exited */
            assert_contains(r.err, "(partial: shard");
            run_result_free(&r);
        }
        char *merged = in_tmp("%s-merged-%d.json", tag, n);
        run_result r;
        /* the parts in reverse order: merge puts them in plan order */
        char *reversed[MAX_PARTS];
        for (int i = 0; i < n; i++)
            reversed[i] = part_list[n - 1 - i];
        assert_int_equal(merge_list(&r, reversed, n, merged), want_rc);
        run_result_free(&r);
        assert_same_report(single, merged);
    }
}

static void fixture_parts_merge_to_the_single_report(void **state)
{
    (void)state;
    parts_equal_single("fx", P.fx_src, P.fx_dst, NULL, 4, 0);
    /* the plan's digest is the same in every part, another for another N */
    cJSON *a = load(in_tmp("fx-part0-of-4.json")), *b = load(in_tmp("fx-part3-of-4.json")),
          *c = load(in_tmp("fx-part0-of-3.json"));
    const char *da = str_member(member(member(a, "scope"), "plan"), "digest");
    assert_string_equal(da, str_member(member(member(b, "scope"), "plan"), "digest"));
    assert_string_not_equal(da, str_member(member(member(c, "scope"), "plan"), "digest"));
    /* part 0 holds the manifest; the others list no file */
    assert_true(cJSON_GetArraySize(member(member(a, "manifest"), "src")) > 0);
    assert_int_equal(cJSON_GetArraySize(member(member(b, "manifest"), "src")), 0);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    /* merge writes every report format, from the merged result: its Markdown
     * is the one `report` renders from its JSON */
    char *json = in_tmp("fx-all.json"), *md = in_tmp("fx-all.md"), *xml = in_tmp("fx-all.xml"),
         *again = in_tmp("fx-again.md");
    run_result r;
    assert_int_equal(mxc(&r, "merge", part_list[0], part_list[1], part_list[2], part_list[3], "--json", json,
                         "--markdown", md, "--junit", xml, "--quiet", NULL),
                     0);
    run_result_free(&r);
    assert_int_equal(mxc(&r, "report", json, "--markdown", again, "--quiet", NULL), 0);
    run_result_free(&r);
    char *m1, *m2, *x;
    assert_int_equal(run_read_file(md, &m1, NULL), 0);
    assert_int_equal(run_read_file(again, &m2, NULL), 0);
    assert_string_equal(m1, m2);
    assert_int_equal(run_read_file(xml, &x, NULL), 0);
    assert_contains(x, "<testsuite name=\"mxfp4-check verify\"");
    free(m1);
    free(m2);
    free(x);
}

/* The generated checkpoint: hundreds of tensors, faults planted in tensors
 * that fall in different parts, and rule-file waivers that only some parts
 * use. */
static void make_generated(void)
{
    if (P.gen_src[0])
        return;
    char *root = in_tmp("gen");
    tool("gen_sample", "--layers", GEN_LAYERS, "--experts", "4", "--hidden", "64", "--intermediate", "64",
         "--shards", "3", "--name", "g", root, NULL);
    snprintf(P.gen_src, sizeof P.gen_src, "%s/g-bf16", root);
    char *clean = in_tmp("gen/g-mxfp4"), *f1 = in_tmp("f1"), *f2 = in_tmp("f2"), *f3 = in_tmp("f3"),
         *f4 = in_tmp("f4");
    tool("plant", "nibble-swap", P.gen_src, clean, f1, NIBBLE, NULL);
    tool("plant", "scale-bias", P.gen_src, f1, f2, BIASED, "2", NULL);
    tool("plant", "tokenizer", P.gen_src, f2, f3, NULL);
    tool("plant", "missing", P.gen_src, f3, f4, DROPPED, NULL);
    snprintf(P.gen_dst, sizeof P.gen_dst, "%s", in_tmp("f5"));
    tool("plant", "bitflip", P.gen_src, f4, P.gen_dst, FLIPPED, NULL);
    snprintf(P.rules, sizeof P.rules, "%s", in_tmp("rules.yaml"));
    assert_int_equal(run_write_file(P.rules,
                                    "version: 1\n"
                                    "rules:\n"
                                    "  - id: typo\n"
                                    "    select: [\"model.nothing.*\"]\n"
                                    "    limits: {max_rel_l2: 0.3}\n"
                                    "waivers:\n"
                                    "  - finding: kept.modified\n"
                                    "    select: [\"model.layers.38.*\"]\n"
                                    "    reason: the last part uses it\n"
                                    "  - finding: numerics.requant_mismatch\n"
                                    "    select: [\"model.layers.33.*\"]\n"
                                    "    reason: a late part uses it\n"
                                    "  - finding: coverage.extra\n"
                                    "    reason: no part uses it\n"
                                    "  - finding: files.copied\n"
                                    "    reason: part 0 uses it\n"),
                     0);
}

static const cJSON *finding_at(const cJSON *j, int i)
{
    return cJSON_GetArrayItem(member(j, "findings"), i);
}

static void generated_parts_merge_to_the_single_report(void **state)
{
    (void)state;
    make_generated();
    parts_equal_single("gen", P.gen_src, P.gen_dst, P.rules, 4, 1);
    /* what the single run found, in its order (the planted faults, not the
     * tool's word): checkpoint-wide, coverage, numerics in tensor order, the
     * diagnoses, then the policy's own findings */
    static const char *const ids[] = {
        "index.total_size", "files.copied", "coverage.missing", "numerics.threshold",
        "numerics.requant_mismatch", "numerics.threshold", "numerics.requant_mismatch", "kept.modified",
        "numerics.diagnosis", "numerics.diagnosis", "rules.waiver_unused", "rules.select_unmatched",
    };
    cJSON *j = load(in_tmp("gen-merged-4.json"));
    assert_int_equal(cJSON_GetArraySize(member(j, "findings")), sizeof ids / sizeof ids[0]);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        assert_string_equal(str_member(finding_at(j, (int)i), "id"), ids[i]);
    assert_string_equal(str_member(finding_at(j, 3), "tensor"), NIBBLE);
    assert_string_equal(str_member(finding_at(j, 5), "tensor"), BIASED);
    assert_string_equal(str_member(finding_at(j, 7), "tensor"), FLIPPED);
    assert_contains(str_member(finding_at(j, 10), "message"), "waiver of coverage.extra at");
    assert_int_equal((int)num_member(member(j, "summary"), "tensors"), 683);
    cJSON_Delete(j);
    /* part 0 alone finds the kept.modified waiver unused: only the merge of
     * every part knows the last part used it */
    cJSON *p0 = load(in_tmp("gen-part0-of-4.json"));
    char *text = cJSON_PrintUnformatted(member(p0, "findings"));
    assert_contains(text, "waiver of kept.modified at");
    free(text);
    cJSON_Delete(p0);
}

/* Byte-balanced: no part holds more than its share plus one tensor. */
static void generated_parts_are_balanced(void **state)
{
    (void)state;
    make_generated();
    int status[MAX_PARTS];
    run_parts("bal", P.gen_src, P.gen_dst, NULL, 4, status);
    double part_bytes[4] = {0}, total = 0, largest = 0;
    for (int i = 0; i < 4; i++) {
        cJSON *j = load(part_paths[i]);
        const cJSON *t;
        cJSON_ArrayForEach(t, member(j, "tensors"))
        {
            const cJSON *b = member(t, "bytes");
            double bytes = num_member(b, "src") + num_member(b, "dst");
            part_bytes[i] += bytes;
            total += bytes;
            if (bytes > largest)
                largest = bytes;
        }
        assert_true(cJSON_GetArraySize(member(j, "tensors")) > 0);
        cJSON_Delete(j);
    }
    for (int i = 0; i < 4; i++)
        if (part_bytes[i] > total / 4 + largest + 683 * 65536.0)
            fail_msg("part %d/4 holds %.0f of %.0f bytes (largest tensor %.0f)", i, part_bytes[i], total, largest);
}

/* ---- refused parts -------------------------------------------------------- */

static void assert_merge_refused(char *const *parts, int n, const char *want)
{
    run_result r;
    char *out = in_tmp("refused.json");
    unlink(out);
    assert_int_equal(merge_list(&r, parts, n, out), 2);
    assert_contains(r.err, want);
    assert_int_equal(access(out, F_OK), -1); /* nothing written */
    run_result_free(&r);
}

static void merge_refuses_missing_duplicated_and_foreign_parts(void **state)
{
    (void)state;
    int status[MAX_PARTS];
    run_parts("ref", P.fx_src, P.fx_dst, NULL, 3, status);
    char want[RUN_PATH_MAX * 2 + 64];
    assert_merge_refused(part_list, 2, "1 of 3 parts missing: 2/3");
    char *dup[3] = {part_list[0], part_list[1], part_list[1]};
    snprintf(want, sizeof want, "%s and %s are both part 1/3", part_list[1], part_list[1]);
    assert_merge_refused(dup, 3, want);
    /* a part of another plan (2 parts) among parts of 3 */
    char *other = in_tmp("other-part1-of-2.json");
    verify_to(P.fx_src, P.fx_dst, NULL, "1/2", other);
    char *mixed[3] = {part_list[0], other, part_list[2]};
    assert_merge_refused(mixed, 3, "is part 1/2 but");
    /* a whole run is not a part */
    char *single = in_tmp("ref-single.json");
    verify_to(P.fx_src, P.fx_dst, NULL, NULL, single);
    char *whole[1] = {single};
    assert_merge_refused(whole, 1, "is not a partial report");
}

/* A part of an earlier run of the same paths - DST rewritten in place since,
 * headers unchanged (a scale bias planted) - is refused: the part's digest
 * names the files it read, not only the plan. Merging it with today's other
 * part would pass a checkpoint today's run fails. And merge never writes
 * over one of its parts. */
static void merge_refuses_a_stale_part_and_keeps_its_inputs(void **state)
{
    (void)state;
    char *dst = in_tmp("stale-dst");
    assert_int_equal(run_copy_dir(P.fx_dst, dst), 0);
    char old1[RUN_PATH_MAX];
    snprintf(old1, sizeof old1, "%s", in_tmp("stale-old-part1-of-2.json"));
    assert_int_equal(verify_to(P.fx_src, dst, NULL, "1/2", old1), 0);
    run_rmtree(dst);
    tool("plant", "scale-bias", P.fx_src, P.fx_dst, dst, "model.layers.0.mlp.experts.down_proj", "2", NULL);
    int status[MAX_PARTS];
    run_parts("stale", P.fx_src, dst, NULL, 2, status);
    assert_true(status[0] == 1 || status[1] == 1); /* today's run fails */
    char *stale[2] = {part_list[0], old1};
    char want[RUN_PATH_MAX + 64];
    snprintf(want, sizeof want, "%s", old1);
    assert_merge_refused(stale, 2, want);
    /* today's parts merge, but not over one of themselves */
    run_result r;
    char before[RUN_PATH_MAX];
    snprintf(before, sizeof before, "%s", part_list[1]);
    char *text = NULL;
    assert_int_equal(run_read_file(before, &text, NULL), 0);
    assert_int_equal(merge_list(&r, part_list, 2, part_list[1]), 2);
    assert_contains(r.err, "would write over");
    run_result_free(&r);
    char *after = NULL;
    assert_int_equal(run_read_file(before, &after, NULL), 0);
    assert_string_equal(after, text);
    free(text);
    free(after);
}

/* Rewrites the first occurrence of from in file path (text of equal use). */
static void edit_file(const char *path, const char *copy, const char *from, const char *to)
{
    char *text;
    assert_int_equal(run_read_file(path, &text, NULL), 0);
    char *at = strstr(text, from);
    if (!at)
        fail_msg("\"%s\" not in %s", from, path);
    size_t head = (size_t)(at - text);
    char *out = malloc(strlen(text) + strlen(to) + 1);
    memcpy(out, text, head);
    strcpy(out + head, to);
    strcat(out, at + strlen(from));
    assert_int_equal(run_write_file(copy, out), 0);
    free(out);
    free(text);
}

static void merge_refuses_tampered_and_killed_parts(void **state)
{
    (void)state;
    make_generated();
    int status[MAX_PARTS];
    run_parts("tam", P.gen_src, P.gen_dst, NULL, 3, status);
    char *parts[3] = {part_list[0], part_list[1], part_list[2]};
    char want[RUN_PATH_MAX + 128];
    /* another digest: a part of another checkpoint or plan */
    cJSON *j = load(part_list[1]);
    const char *digest = str_member(member(member(j, "scope"), "plan"), "digest");
    char forged[65];
    snprintf(forged, sizeof forged, "%s", digest);
    forged[0] = forged[0] == '0' ? '1' : '0';
    char *tampered = in_tmp("tampered-digest.json");
    edit_file(part_list[1], tampered, digest, forged);
    cJSON_Delete(j);
    parts[1] = tampered;
    snprintf(want, sizeof want, "%s (part 1/3) does not belong with %s: its plan digest differs", tampered,
             part_list[0]);
    assert_merge_refused(parts, 3, want);
    /* a failing part edited to pass: its own arithmetic refuses it */
    char *passed = in_tmp("tampered-result.json");
    int last = status[2] == 1 ? 2 : status[1] == 1 ? 1 : 0;
    assert_int_equal(status[last], 1);
    edit_file(part_list[last], passed, "\"result\":\t\"fail\"", "\"result\":\t\"pass\"");
    parts[1] = part_list[1];
    parts[last] = passed;
    snprintf(want, sizeof want, "%s: not an mxfp4-check report: \"result\" is \"pass\"", passed);
    assert_merge_refused(parts, 3, want);
    /* a part whose writer was killed half-way: a cut-short file */
    char *text, *cut = in_tmp("killed.json");
    size_t len;
    assert_int_equal(run_read_file(part_list[2], &text, &len), 0);
    text[len / 2] = '\0';
    assert_int_equal(run_write_file(cut, text), 0);
    free(text);
    parts[last] = part_list[last];
    parts[2] = cut;
    assert_merge_refused(parts, 3, cut);
    /* a part that never ran: its file is missing */
    parts[2] = in_tmp("never-written.json");
    assert_merge_refused(parts, 3, "never-written.json");
}

/* SRC's tokenizer.json a dangling link: only part 0 (which compares the
 * copied files) stops on it; the merge fails as the single run does, with
 * the same report. */
static void a_failing_part_fails_the_merge_with_its_fault(void **state)
{
    (void)state;
    char *src = in_tmp("dangling-src"), *tok = in_tmp("dangling-src/tokenizer.json");
    assert_int_equal(run_copy_dir(P.fx_src, src), 0);
    assert_int_equal(unlink(tok), 0);
    assert_int_equal(symlink("/nonexistent/tokenizer.json", tok), 0);
    char *single = in_tmp("dangling-single.json");
    assert_int_equal(verify_to(src, P.fx_dst, NULL, NULL, single), 2);
    int status[MAX_PARTS];
    run_parts("dangling", src, P.fx_dst, NULL, 3, status);
    assert_int_equal(status[0], 2);
    assert_int_equal(status[1], 0);
    char *merged = in_tmp("dangling-merged.json");
    run_result r;
    assert_int_equal(merge_list(&r, part_list, 3, merged), 2);
    assert_contains(r.err, "tokenizer.json");
    run_result_free(&r);
    assert_same_report(single, merged);
}

/* ---- --shard --------------------------------------------------------------- */

static void shard_usage_errors_and_auto(void **state)
{
    (void)state;
    run_result r;
    assert_int_equal(mxc(&r, "verify", P.fx_src, P.fx_dst, "--shard", "3/3", NULL), 2);
    assert_contains(r.err, "--shard 3/3: the part must be below the count");
    run_result_free(&r);
    assert_int_equal(mxc(&r, "verify", P.fx_src, P.fx_dst, "--shard", "1/x", NULL), 2);
    assert_contains(r.err, "--shard wants I/N");
    run_result_free(&r);
    unsetenv("OMPI_COMM_WORLD_RANK");
    unsetenv("PMI_RANK");
    unsetenv("SLURM_PROCID");
    assert_int_equal(mxc(&r, "verify", P.fx_src, P.fx_dst, "--shard", "auto", NULL), 2);
    assert_contains(r.err, "--shard auto: no launcher's rank and size are set");
    run_result_free(&r);
    setenv("SLURM_PROCID", "2", 1);
    setenv("SLURM_NTASKS", "3", 1);
    char *out = in_tmp("auto.json");
    assert_int_equal(mxc(&r, "verify", P.fx_src, P.fx_dst, "--shard", "auto", "--json", out, "--quiet", NULL), 0);
    run_result_free(&r);
    cJSON *j = load(out);
    assert_string_equal(str_member(member(j, "scope"), "shard"), "2/3");
    cJSON_Delete(j);
    setenv("SLURM_NTASKS", "2", 1);
    assert_int_equal(mxc(&r, "verify", P.fx_src, P.fx_dst, "--shard", "auto", NULL), 2);
    assert_contains(r.err, "Slurm's SLURM_PROCID=2 and SLURM_NTASKS=2 are not a rank below a size");
    run_result_free(&r);
    unsetenv("SLURM_PROCID");
    unsetenv("SLURM_NTASKS");
}

/* ---- mpirun ---------------------------------------------------------------- */

/* The MPI build, or NULL (with the reason) when there is none to run. */
static const char *mpi_binary(char *why, size_t len)
{
    const char *bin = getenv("MXC_MPI_BIN");
    if (!bin || !*bin) {
        snprintf(why, len, "MXC_MPI_BIN is not set: no `make MPI=1` build to run under mpirun");
        return NULL;
    }
    run_result r;
    const char *argv[] = {bin, "--version", NULL};
    if (run_cmd(argv, 30, &r) != 0 || !strstr(r.out, "scale-out: MPI")) {
        snprintf(why, len, "%s is not an MPI build (`make MPI=1`)", bin);
        run_result_free(&r);
        return NULL;
    }
    run_result_free(&r);
    return bin;
}

static int mpirun(run_result *r, const char *bin, const char *np, const char *src, const char *dst,
                  const char *rules, const char *out)
{
    const char *argv[] = {"mpirun", "--allow-run-as-root", "--oversubscribe", "-n", np, bin, "verify", src, dst,
                          "--rules", rules, "--json", out, "--quiet", NULL};
    if (run_cmd(argv, 180, r) != 0)
        fail_msg("mpirun did not exit normally (signal %d, timed out %d)\n%s", r->signal, r->timed_out, r->err);
    return r->status;
}

static void mpirun_gives_the_single_report(void **state)
{
    (void)state;
    char why[256];
    const char *bin = mpi_binary(why, sizeof why);
    if (!bin) {
        print_message("skipped: %s\n", why);
        skip();
    }
    make_generated();
    char *single = in_tmp("gen-single-mpi.json"), *out = in_tmp("mpi.json");
    assert_int_equal(verify_to(P.gen_src, P.gen_dst, P.rules, NULL, single), 1);
    run_result r;
    assert_int_equal(mpirun(&r, bin, "3", P.gen_src, P.gen_dst, P.rules, out), 1);
    run_result_free(&r);
    assert_same_report(single, out);
    cJSON *j = load(out);
    assert_true(cJSON_IsNull(member(member(j, "scope"), "shard")));
    cJSON_Delete(j);
}

/* A rank that stops (here rank 0, on SRC's dangling tokenizer.json) fails
 * the run with its fault on every rank, and nothing hangs. */
static void mpirun_a_failing_rank_fails_the_run(void **state)
{
    (void)state;
    char why[256];
    const char *bin = mpi_binary(why, sizeof why);
    if (!bin) {
        print_message("skipped: %s\n", why);
        skip();
    }
    make_generated();
    char *src = in_tmp("mpi-dangling-src"), *tok = in_tmp("mpi-dangling-src/tokenizer.json");
    assert_int_equal(run_copy_dir(P.gen_src, src), 0);
    assert_int_equal(unlink(tok), 0);
    assert_int_equal(symlink("/nonexistent/tokenizer.json", tok), 0);
    char *out = in_tmp("mpi-fault.json");
    run_result r;
    assert_int_equal(mpirun(&r, bin, "3", src, P.gen_dst, P.rules, out), 2);
    assert_contains(r.err, "tokenizer.json");
    run_result_free(&r);
    cJSON *j = load(out);
    assert_string_equal(str_member(finding_at(j, 0), "id"), "input.unreadable");
    cJSON_Delete(j);
}

/* A rank other than 0 that stops (its DST cannot be opened: mpirun's MPMD
 * form gives it another one) sends its fault; rank 0's report and every
 * rank's exit status carry it. */
static void mpirun_a_failing_later_rank_sends_its_fault(void **state)
{
    (void)state;
    char why[256];
    const char *bin = mpi_binary(why, sizeof why);
    if (!bin) {
        print_message("skipped: %s\n", why);
        skip();
    }
    char *out = in_tmp("mpi-later-fault.json"), *gone = in_tmp("no-such-dst");
    const char *argv[] = {"mpirun", "--allow-run-as-root", "--oversubscribe",
                          "-n", "2", bin, "verify", P.fx_src, P.fx_dst, "--json", out, "--quiet", ":",
                          "-n", "1", bin, "verify", P.fx_src, gone, "--json", out, "--quiet", NULL};
    run_result r;
    if (run_cmd(argv, 180, &r) != 0)
        fail_msg("mpirun did not exit normally (signal %d, timed out %d)\n%s", r.signal, r.timed_out, r.err);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "rank 2: DST");
    run_result_free(&r);
    cJSON *j = load(out);
    assert_string_equal(str_member(finding_at(j, 0), "id"), "input.unreadable");
    assert_contains(str_member(finding_at(j, 0), "message"), "no-such-dst");
    cJSON_Delete(j);
}

/* A rank that dies (killed before it reaches MPI) ends the whole run with a
 * failure, well before the timeout: no rank waits for it forever, and no
 * report is written. */
static void mpirun_a_killed_rank_ends_the_run(void **state)
{
    (void)state;
    char why[256];
    const char *bin = mpi_binary(why, sizeof why);
    if (!bin) {
        print_message("skipped: %s\n", why);
        skip();
    }
    char *out = in_tmp("mpi-killed.json");
    const char *argv[] = {"mpirun", "--allow-run-as-root", "--oversubscribe",
                          "-n", "1", bin, "verify", P.fx_src, P.fx_dst, "--json", out, "--quiet", ":",
                          "-n", "1", "sh", "-c", "kill -9 $$", ":",
                          "-n", "1", bin, "verify", P.fx_src, P.fx_dst, "--json", out, "--quiet", NULL};
    run_result r;
    if (run_cmd(argv, 60, &r) != 0 && r.timed_out)
        fail_msg("mpirun hung after a rank was killed\n%s", r.err);
    assert_true(r.status != 0);
    run_result_free(&r);
    assert_int_equal(access(out, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixture_parts_merge_to_the_single_report),
        cmocka_unit_test(generated_parts_merge_to_the_single_report),
        cmocka_unit_test(generated_parts_are_balanced),
        cmocka_unit_test(merge_refuses_missing_duplicated_and_foreign_parts),
        cmocka_unit_test(merge_refuses_tampered_and_killed_parts),
        cmocka_unit_test(merge_refuses_a_stale_part_and_keeps_its_inputs),
        cmocka_unit_test(a_failing_part_fails_the_merge_with_its_fault),
        cmocka_unit_test(shard_usage_errors_and_auto),
        cmocka_unit_test(mpirun_gives_the_single_report),
        cmocka_unit_test(mpirun_a_failing_rank_fails_the_run),
        cmocka_unit_test(mpirun_a_failing_later_rank_sends_its_fault),
        cmocka_unit_test(mpirun_a_killed_rank_ends_the_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

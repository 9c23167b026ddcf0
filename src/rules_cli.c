/* `mxfp4-check rules check|print|explain`: rule files for people. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"
#include "coverage.h"
#include "pattern.h"
#include "policy.h"
#include "rules.h"
#include "text.h"
#include "util.h"

static const char usage[] =
    "usage: mxfp4-check rules check FILE...\n"
    "       mxfp4-check rules print [default|strict|gpt-oss]\n"
    "       mxfp4-check rules explain [--rules FILE]... [--strict] DST TENSOR\n"
    "\n"
    "  check    read each rule file (and what it extends) and report every problem\n"
    "           as FILE:LINE:COL: message; exit 0 when there is none, 2 otherwise\n"
    "  print    a built-in rule file, byte for byte (default: the built-in policy)\n"
    "  explain  for each check of TENSOR in DST, the rule that decides it (id,\n"
    "           file:line), its value and severity, and the rules it overrides\n";

int rules_policy_load(const char *const *files, size_t n, bool strict, policy **out)
{
    rules_loader *l = rules_loader_new();
    rules_add_builtin(l, "default");
    for (size_t i = 0; i < n; i++)
        rules_add_file(l, files[i]);
    if (strict) /* last, so that no team file can loosen it */
        rules_add_builtin(l, "strict");
    rules_finish(l);
    *out = rules_take_policy(l);
    if (*out && strict)
        policy_set_warnings_are_errors(*out);
    if (!*out) {
        fputs(rules_problems(l), stderr);
        if (rules_problem_count(l) > RULES_MAX_PROBLEMS)
            fprintf(stderr, "mxfp4-check rules: ... and %zu more problems\n",
                    rules_problem_count(l) - RULES_MAX_PROBLEMS);
    }
    rules_loader_free(l);
    return *out ? 0 : -1;
}

static int rules_check(int argc, char **argv)
{
    if (argc < 1)
        return cli_usage_error("rules check", "expected one or more rule files");
    int rc = EXIT_PASS;
    for (int i = 0; i < argc; i++) {
        rules_loader *l = rules_loader_new();
        rules_add_builtin(l, "default");
        rules_add_file(l, argv[i]);
        rules_finish(l);
        if (rules_problem_count(l)) {
            fputs(rules_problems(l), stdout);
            rc = EXIT_INPUT;
        }
        rules_loader_free(l);
    }
    return rc;
}

static int rules_print(int argc, char **argv)
{
    const char *name = argc >= 1 ? argv[0] : "default";
    if (argc > 1)
        return cli_usage_error("rules print", "expected at most one name");
    size_t len;
    const char *text = rules_builtin_text(name, &len);
    if (!text) {
        char shown[128];
        return cli_usage_error("rules print", "no built-in rule file '%s' (default, strict, gpt-oss)",
                               text_escape(name, shown, sizeof shown));
    }
    fwrite(text, 1, len, stdout);
    return EXIT_PASS;
}

static void print_origin(const policy_rule *r)
{
    char id[128], file[256];
    printf("%s %s:%lu", text_escape(r->id, id, sizeof id), text_escape(r->at.file, file, sizeof file),
           r->at.line);
}

/* One check: the deciding rule, its value, what it overrides. */
static void explain_check(policy *p, const policy_match *m, policy_check pc, const char *fallback,
                          const char *tensor)
{
    const policy_check_info *info = policy_check_at(pc);
    size_t overridden = 0;
    const policy_rule *r = policy_decide(p, m, pc, &overridden);
    printf("  %-21s ", info->key);
    if (!r) {
        printf("%-10s %-8s %s\n", "-", "-", fallback);
        return;
    }
    char value[32];
    if (pc == PC_EXPECT)
        snprintf(value, sizeof value, "%s", policy_expect_name(r->expect));
    else
        snprintf(value, sizeof value, "%g", r->limit[pc]);
    /* a rule without its own severity raises at its finding id's */
    const char *id = pc == PC_EXPECT ? FIND_SHOULD_KEEP : pc == PC_MAX_NONFINITE ? FIND_NONFINITE : FIND_THRESHOLD;
    severity sev = r->sev;
    policy_origin unused;
    char err[256];
    if (!r->has_severity && policy_severity_of(p, id, tensor, &sev, &unused, err, sizeof err) < 0)
        sev = SEV_ERROR;
    printf("%-10s %-8s ", value, severity_name(sev));
    print_origin(r);
    for (size_t k = 1; k <= overridden; k++) {
        printf(k == 1 ? "  overrides " : ", ");
        print_origin(policy_setter(p, m, pc, k));
    }
    printf("\n");
}

static int rules_explain(int argc, char **argv)
{
    const char **files = xcalloc((size_t)argc + 1, sizeof *files);
    size_t nfiles = 0;
    bool strict = false;
    int i = 0;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
            files[nfiles++] = argv[++i];
        else if (strcmp(argv[i], "--strict") == 0)
            strict = true;
        else if (strcmp(argv[i], "--rules") == 0)
            return free(files), cli_usage_error("rules explain", "option '--rules' needs an argument");
        else
            break;
    }
    if (argc - i != 2) {
        free(files);
        return cli_usage_error("rules explain", "expected DST and TENSOR");
    }
    const char *dst_path = argv[i], *tensor = argv[i + 1];
    policy *p = NULL;
    int rc = rules_policy_load(files, nfiles, strict, &p);
    free(files);
    if (rc < 0)
        return EXIT_INPUT;
    finding_list *fl = findings_new();
    ckpt *dst = NULL;
    char err[512], shown[256];
    if (ckpt_open(dst_path, &dst, fl, err, sizeof err) < 0) {
        fprintf(stderr, "mxfp4-check rules: DST '%s': %s\n", text_escape(dst_path, shown, sizeof shown), err);
        rc = EXIT_INPUT;
        goto done;
    }
    const ckpt_logical *lt = ckpt_logical_find(dst, tensor);
    if (!lt) {
        fprintf(stderr, "mxfp4-check rules: DST '%s' has no tensor '%s'\n",
                text_escape(dst_path, shown, sizeof shown), text_escape(tensor, err, sizeof err));
        rc = EXIT_INPUT;
        goto done;
    }
    policy_match m;
    if (policy_match_tensor(p, tensor, &m, err, sizeof err) < 0) {
        fprintf(stderr, "mxfp4-check rules: %s\n", err);
        rc = EXIT_INPUT;
        goto done;
    }
    const ckpt_config *cfg = ckpt_get_config(dst);
    int pat = pat_first_match(cfg->not_convert, cfg->n_not_convert, tensor);
    char fallback[300];
    if (pat >= 0)
        snprintf(fallback, sizeof fallback, "config.json: kept (pattern '%s')",
                 text_escape(cfg->not_convert[pat], shown, sizeof shown));
    else
        snprintf(fallback, sizeof fallback, "config.json: quantized (no pattern keeps it)");
    printf("tensor %s (%s in DST)\n", text_escape(tensor, shown, sizeof shown),
           lt->kind == LT_MXFP4 ? "quantized" : "kept");
    printf("  %-21s %-10s %-8s %s\n", "CHECK", "VALUE", "SEVERITY", "DECIDED BY");
    explain_check(p, &m, PC_EXPECT, fallback, tensor);
    for (int c = 0; c < PC_LIMIT_COUNT; c++)
        explain_check(p, &m, (policy_check)c, "no limit", tensor);
    printf("findings on this tensor:\n");
    for (size_t k = 0; k < finding_kind_count(); k++) {
        const finding_kind *fk = finding_kind_at(k);
        severity sev;
        policy_origin at;
        if (fk->group == FG_RULES || fk->group == FG_STRUCTURE)
            continue;
        if (policy_severity_of(p, fk->id, tensor, &sev, &at, err, sizeof err) < 0)
            break;
        printf("  %-27s %-6s %s", fk->id, severity_name(sev), at.file ? "" : "(finding table)\n");
        if (at.file)
            printf("%s:%lu\n", text_escape(at.file, shown, sizeof shown), at.line);
    }
    policy_match_free(&m);
done:
    ckpt_close(dst);
    findings_free(fl);
    policy_free(p);
    return rc;
}

int rules_main(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("rules", "expected check, print or explain");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        fputs(usage, stdout);
        return EXIT_PASS;
    }
    if (strcmp(sub, "check") == 0)
        return rules_check(argc - 2, argv + 2);
    if (strcmp(sub, "print") == 0)
        return rules_print(argc - 2, argv + 2);
    if (strcmp(sub, "explain") == 0)
        return rules_explain(argc - 2, argv + 2);
    char shown[128];
    return cli_usage_error("rules", "unknown subcommand '%s' (check, print or explain)",
                           text_escape(sub, shown, sizeof shown));
}

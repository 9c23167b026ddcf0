#include "policy.h"

#include <stddef.h>
#include <string.h>

typedef struct {
    const char *id;
    severity sev;
} id_severity;

struct policy {
    const id_severity *severities;
    size_t count;
    policy_limits limits;
};

/* Keep in step with rules/default.yaml. */
static const id_severity default_severities[] = {
    {FIND_HEADER, SEV_ERROR},           {FIND_INDEX_MISMATCH, SEV_ERROR},
    {FIND_INDEX_TOTAL_SIZE, SEV_WARN},  {FIND_CONFIG_QUANT, SEV_ERROR},
    {FIND_FILES_COPIED, SEV_ERROR},     {FIND_PAIRING, SEV_ERROR},
    {FIND_SCALE_NAN, SEV_ERROR},        {FIND_SHOULD_KEEP, SEV_ERROR},
    {FIND_SHOULD_QUANTIZE, SEV_ERROR},  {FIND_MISSING, SEV_ERROR},
    {FIND_EXTRA, SEV_ERROR},            {FIND_STALE_PATTERN, SEV_WARN},
    {FIND_VIEW_MISMATCH, SEV_WARN},     {FIND_KEPT_MODIFIED, SEV_ERROR},
    {FIND_THRESHOLD, SEV_ERROR},        {FIND_NONFINITE, SEV_ERROR},
    {FIND_REQUANT_MISMATCH, SEV_WARN},  {FIND_DIAGNOSIS, SEV_ERROR},
};

static const policy builtin = {
    default_severities,
    sizeof default_severities / sizeof default_severities[0],
    {.max_rel_l2 = 0.2, .min_cosine = 0.98, .max_excess = 1.25},
};

const policy *policy_default(void)
{
    return &builtin;
}

severity policy_severity(const policy *p, const char *id, const char *tensor)
{
    (void)tensor; /* per-tensor overrides arrive with YAML rules */
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->severities[i].id, id) == 0)
            return p->severities[i].sev;
    return SEV_ERROR; /* an id without a rule is a fault of ours: never hide it */
}

void policy_limits_for(const policy *p, const char *tensor, policy_limits *out)
{
    (void)tensor;
    *out = p->limits;
}

void policy_apply(const policy *p, finding_list *fl)
{
    for (size_t i = 0; i < findings_count(fl); i++) {
        finding *f = findings_mut(fl, i);
        f->sev = policy_severity(p, f->id, f->tensor);
    }
}

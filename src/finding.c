#include "finding.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

struct finding_list {
    finding *items;
    size_t count, cap;
};

finding_list *findings_new(void)
{
    return xcalloc(1, sizeof(finding_list));
}

void findings_free(finding_list *fl)
{
    if (!fl)
        return;
    for (size_t i = 0; i < fl->count; i++) {
        finding *f = &fl->items[i];
        free(f->id);
        free(f->tensor);
        free(f->file);
        free(f->message);
        free(f->cause);
    }
    free(fl->items);
    free(fl);
}

finding *findings_add(finding_list *fl, const char *id, severity sev, const char *tensor,
                      const char *file, const char *fmt, ...)
{
    if (sev == SEV_OFF)
        return NULL;
    xgrow(&fl->items, &fl->cap, fl->count + 1, sizeof(finding));
    finding *f = &fl->items[fl->count++];
    *f = (finding){.id = xstrdup(id), .sev = sev};
    f->tensor = tensor ? xstrdup(tensor) : NULL;
    f->file = file ? xstrdup(file) : NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    f->message = xmalloc(n > 0 ? (size_t)n + 1 : 1);
    va_start(ap, fmt);
    vsnprintf(f->message, n > 0 ? (size_t)n + 1 : 1, fmt, ap);
    va_end(ap);
    return f;
}

size_t findings_count(const finding_list *fl)
{
    return fl->count;
}

const finding *findings_at(const finding_list *fl, size_t i)
{
    return i < fl->count ? &fl->items[i] : NULL;
}

finding *findings_mut(finding_list *fl, size_t i)
{
    return i < fl->count ? &fl->items[i] : NULL;
}

size_t findings_count_sev(const finding_list *fl, severity sev)
{
    size_t n = 0;
    for (size_t i = 0; i < fl->count; i++)
        n += fl->items[i].sev == sev;
    return n;
}

const char *severity_name(severity sev)
{
    switch (sev) {
    case SEV_ERROR: return "error";
    case SEV_WARN: return "warn";
    case SEV_INFO: return "info";
    default: return "off";
    }
}

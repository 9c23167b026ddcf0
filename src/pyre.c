#include "pyre.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct pyre {
    pcre2_code *code;
    pcre2_match_data *data;
    pcre2_match_context *limits;
    pyre_anchor anchor;
};

static void pcre2_message(int code, char *err, size_t errlen)
{
    PCRE2_UCHAR buf[PYRE_ERR_LEN];
    if (pcre2_get_error_message(code, buf, sizeof buf) < 0)
        snprintf((char *)buf, sizeof buf, "PCRE2 error %d", code);
    snprintf(err, errlen, "%s", (const char *)buf);
}

pyre *pyre_compile(const char *pattern, pyre_anchor anchor, char *err, size_t errlen,
                   size_t *offset)
{
    size_t len = strlen(pattern);
    if (offset)
        *offset = 0;
    if (len > PYRE_MAX_PATTERN_LEN) {
        snprintf(err, errlen, "longer than %d bytes", PYRE_MAX_PATTERN_LEN);
        return NULL;
    }
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    if (!cc)
        abort(); /* out of memory is not an input error */
    /* Python reads \uXXXX in a pattern; PCRE2 does with ALT_BSUX */
    pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALT_BSUX);
    uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_ALT_BSUX | PCRE2_ANCHORED;
    if (anchor == PYRE_FULL)
        options |= PCRE2_ENDANCHORED;
    int code;
    PCRE2_SIZE where;
    pcre2_code *compiled = pcre2_compile((PCRE2_SPTR)pattern, len, options, &code, &where, cc);
    pcre2_compile_context_free(cc);
    if (!compiled) {
        pcre2_message(code, err, errlen);
        if (offset)
            *offset = where;
        return NULL;
    }
    pyre *re = xcalloc(1, sizeof *re);
    re->code = compiled;
    re->anchor = anchor;
    re->data = pcre2_match_data_create_from_pattern(compiled, NULL);
    re->limits = pcre2_match_context_create(NULL);
    if (!re->data || !re->limits)
        abort();
    pcre2_set_match_limit(re->limits, PYRE_MATCH_LIMIT);
    pcre2_set_depth_limit(re->limits, PYRE_DEPTH_LIMIT);
    pcre2_set_heap_limit(re->limits, PYRE_HEAP_LIMIT_KIB);
    return re;
}

pyre_result pyre_match(pyre *re, const char *subject, size_t len, char *err, size_t errlen)
{
    /* PCRE2 checks the subject's UTF-8 itself: invalid bytes are an error
     * (reported like a limit), never undefined behaviour */
    int rc = pcre2_match(re->code, (PCRE2_SPTR)subject, len, 0, 0, re->data, re->limits);
    if (rc >= 0)
        return PYRE_MATCH;
    if (rc == PCRE2_ERROR_NOMATCH)
        return PYRE_NO_MATCH;
    if (err)
        pcre2_message(rc, err, errlen);
    return PYRE_LIMIT;
}

void pyre_free(pyre *re)
{
    if (!re)
        return;
    pcre2_match_data_free(re->data);
    pcre2_match_context_free(re->limits);
    pcre2_code_free(re->code);
    free(re);
}

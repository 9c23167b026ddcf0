/* json_check.h - reading a report's members in a cmocka test: each accessor
 * fails the test, naming the key, when the member is missing or of the wrong
 * type. Include after <cmocka.h>. */
#ifndef MXC_TEST_JSON_CHECK_H
#define MXC_TEST_JSON_CHECK_H

#include <cJSON.h>
#include <string.h>

static inline const cJSON *member(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        fail_msg("no member \"%s\"", key);
    return v;
}

static inline const char *str_member(const cJSON *obj, const char *key)
{
    const cJSON *v = member(obj, key);
    if (!cJSON_IsString(v))
        fail_msg("member \"%s\" is not a string", key);
    return v->valuestring;
}

static inline double num_member(const cJSON *obj, const char *key)
{
    const cJSON *v = member(obj, key);
    if (!cJSON_IsNumber(v))
        fail_msg("member \"%s\" is not a number", key);
    return v->valuedouble;
}

/* The element of array arr whose "name" is name, or NULL. */
static inline const cJSON *find_named(const cJSON *arr, const char *name)
{
    for (const cJSON *e = arr ? arr->child : NULL; e; e = e->next) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            return e;
    }
    return NULL;
}

#endif

/* schema_check.c - see schema_check.h. */
#include "schema_check.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"

#define NO_JSONSCHEMA 4 /* the script's exit status without jsonschema */
#define NO_PROGRAM 127  /* the child's, when python cannot be run */

/* Loads the schema, says "ready", then answers each path read from stdin on
 * one line: the JSON list of its errors, or a JSON string saying why it could
 * not be read as JSON. */
static const char script[] =
    "import json, sys\n"
    "try:\n"
    "    import jsonschema\n"
    "except ImportError:\n"
    "    print('No module named jsonschema', file=sys.stderr)\n"
    "    sys.exit(4)\n"
    "schema = json.load(open(sys.argv[1], encoding='utf-8'))\n"
    "cls = jsonschema.validators.validator_for(schema)\n"
    "cls.check_schema(schema)\n"
    "check = cls(schema)\n"
    "print('ready', flush=True)\n"
    "for line in iter(sys.stdin.readline, ''):\n"
    "    try:\n"
    "        doc = json.load(open(line[:-1], encoding='utf-8'))\n"
    "    except (OSError, ValueError) as e:\n"
    "        print(json.dumps(str(e)), flush=True)\n"
    "        continue\n"
    "    errs = ['%s %s' % (list(e.absolute_path), e.message) for e in check.iter_errors(doc)]\n"
    "    print(json.dumps(errs), flush=True)\n";

/* The Debian python3 first: python3-jsonschema installs there. */
static const char *const pythons[] = {"/usr/bin/python3", "python3"};

static struct {
    bool tried;           /* a start was attempted: it stays as it went */
    schema_verdict state; /* SCHEMA_VALID while it serves, else why not */
    pid_t pid;            /* the validator, while it serves */
    int fd;               /* our end of its stdin and stdout */
    char schema[RUN_PATH_MAX];
    char why[2048];       /* why there is no validator */
    char *line;           /* the last line read */
    size_t cap;
} v = {.pid = -1, .fd = -1};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads one line (without its newline) into v.line by the deadline. Returns
 * 0, or -1 at the end of the stream, on a timeout or an error. The validator
 * writes nothing unasked, so nothing follows the line. */
static int read_line(long long deadline)
{
    size_t len = 0;
    for (;;) {
        if (v.cap - len < 4096) {
            char *p = realloc(v.line, v.cap + 65536);
            if (!p)
                return -1;
            v.line = p;
            v.cap += 65536;
        }
        long long left = deadline - now_ms();
        struct pollfd pf = {.fd = v.fd, .events = POLLIN};
        int r = left > 0 ? poll(&pf, 1, left > 1000 ? 1000 : (int)left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || (r == 0 && now_ms() >= deadline))
            return -1;
        if (r == 0)
            continue;
        ssize_t n = read(v.fd, v.line + len, v.cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        len += (size_t)n;
        v.line[len] = '\0';
        char *nl = strchr(v.line, '\n');
        if (nl) {
            *nl = '\0';
            return 0;
        }
    }
}

/* Ends the validator: v.state becomes state, or SCHEMA_NO_VALIDATOR where
 * python or jsonschema is missing; its stderr (errfd, may be -1) goes into
 * v.why after why. */
static void stop(schema_verdict state, int errfd, const char *why)
{
    int status = 0;
    if (v.pid > 0) {
        kill(v.pid, SIGKILL); /* nothing where it has exited already */
        while (waitpid(v.pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    bool missing = v.pid > 0 && WIFEXITED(status) &&
                   (WEXITSTATUS(status) == NO_JSONSCHEMA || WEXITSTATUS(status) == NO_PROGRAM);
    v.state = missing ? SCHEMA_NO_VALIDATOR : state;
    v.pid = -1;
    if (v.fd >= 0)
        close(v.fd);
    v.fd = -1;
    int n = snprintf(v.why, sizeof v.why, "%s", why);
    if (errfd >= 0 && n >= 0 && (size_t)n < sizeof v.why - 2) {
        ssize_t got = pread(errfd, v.why + n + 1, sizeof v.why - (size_t)n - 2, 0);
        if (got > 0) {
            v.why[n] = '\n';
            v.why[n + 1 + got] = '\0';
        }
    }
}

/* Starts python on the schema and waits for its "ready". Returns 0, or -1
 * with v.why saying why not. */
static int start(const char *python, const char *schema)
{
    int sv[2];
    FILE *err = tmpfile(); /* its stderr: what it says when it cannot start */
    if (!err || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(v.why, sizeof v.why, "%s: %s", python, strerror(errno));
        v.state = SCHEMA_BROKEN;
        if (err)
            fclose(err);
        return -1;
    }
    int errfd = fileno(err);
    fcntl(errfd, F_SETFD, FD_CLOEXEC);
    pid_t pid = fork();
    if (pid == 0) {
        if (dup2(sv[1], STDIN_FILENO) < 0 || dup2(sv[1], STDOUT_FILENO) < 0 || dup2(errfd, STDERR_FILENO) < 0)
            _exit(NO_PROGRAM);
        execlp(python, python, "-c", script, schema, (char *)NULL);
        dprintf(STDERR_FILENO, "%s: %s\n", python, strerror(errno));
        _exit(NO_PROGRAM);
    }
    close(sv[1]);
    v.pid = pid;
    v.fd = sv[0];
    int rc = 0;
    if (pid < 0) {
        stop(SCHEMA_BROKEN, -1, "fork failed");
        rc = -1;
    } else if (read_line(now_ms() + (long long)RUN_DEFAULT_TIMEOUT_S * 1000) != 0 ||
               strcmp(v.line, "ready") != 0) {
        char why[RUN_PATH_MAX + 64];
        snprintf(why, sizeof why, "%s on %s did not start the validator:", python, schema);
        stop(SCHEMA_BROKEN, errfd, why);
        rc = -1;
    } else
        v.state = SCHEMA_VALID;
    fclose(err);
    return rc;
}

/* Writes all of path and a newline to the validator. */
static int send_path(const char *path)
{
    size_t len = strlen(path);
    char *req = malloc(len + 2);
    if (!req)
        return -1;
    memcpy(req, path, len);
    memcpy(req + len, "\n", 2);
    size_t off = 0;
    int rc = 0;
    while (off < len + 1) {
        ssize_t n = send(v.fd, req + off, len + 1 - off, MSG_NOSIGNAL); /* a dead validator is no SIGPIPE */
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = -1;
            break;
        }
        off += (size_t)n;
    }
    free(req);
    return rc;
}

schema_verdict schema_ready(const char *schema, char *msg, size_t msglen)
{
    msg[0] = '\0';
    if (!v.tried) {
        v.tried = true;
        snprintf(v.schema, sizeof v.schema, "%s", schema);
        /* the next python only where this one lacks python or jsonschema */
        for (size_t i = 0; i < sizeof pythons / sizeof pythons[0]; i++)
            if (start(pythons[i], schema) == 0 || v.state != SCHEMA_NO_VALIDATOR)
                break;
    }
    if (strcmp(schema, v.schema) != 0) {
        snprintf(msg, msglen, "the validator serves %s only", v.schema);
        return SCHEMA_BROKEN;
    }
    if (v.state != SCHEMA_VALID)
        snprintf(msg, msglen, "%s", v.why);
    return v.state;
}

schema_verdict schema_check(const char *schema, const char *path, char *msg, size_t msglen)
{
    schema_verdict ready = schema_ready(schema, msg, msglen);
    if (ready != SCHEMA_VALID)
        return ready;
    if (strchr(path, '\n')) {
        snprintf(msg, msglen, "a path with a newline cannot be sent to the validator");
        return SCHEMA_BROKEN;
    }
    if (send_path(path) != 0 || read_line(now_ms() + (long long)RUN_DEFAULT_TIMEOUT_S * 1000) != 0) {
        stop(SCHEMA_BROKEN, -1, "the validator died or did not answer in time");
        v.state = SCHEMA_BROKEN; /* even where it exited as if it had no jsonschema */
        snprintf(msg, msglen, "%s", v.why);
        return SCHEMA_BROKEN;
    }
    cJSON *errs = cJSON_Parse(v.line);
    if (cJSON_IsString(errs)) {
        snprintf(msg, msglen, "%s", errs->valuestring);
        cJSON_Delete(errs);
        return SCHEMA_NOT_JSON;
    }
    if (!cJSON_IsArray(errs)) {
        snprintf(msg, msglen, "the validator answered: %.200s", v.line);
        cJSON_Delete(errs);
        return SCHEMA_BROKEN;
    }
    size_t used = 0;
    for (const cJSON *e = errs->child; e; e = e->next) {
        int n = snprintf(msg + used, msglen - used, "%s\n", cJSON_IsString(e) ? e->valuestring : "?");
        if (n < 0 || (size_t)n >= msglen - used)
            break; /* cut short: the first errors tell */
        used += (size_t)n;
    }
    schema_verdict verdict = errs->child ? SCHEMA_INVALID : SCHEMA_VALID;
    cJSON_Delete(errs);
    return verdict;
}

/* runner.h - running the built binary from tests, and the file chores around it.
 *
 * run_cmd starts a program (argv, no shell) with stdin from /dev/null and
 * captures its stdout and stderr completely and its exit status. A program
 * that runs past its timeout is killed (its whole process group) and the run
 * counts as a failure. The helpers below make and remove private temp
 * directories and plant faults into copies of checkpoints.
 *
 * Errors: functions returning int give 0 on success and -1 on failure with
 * errno set where a system call failed. Nothing here exits, aborts or prints;
 * the test decides what a failure means. Ownership: a run_result owns its
 * buffers until run_result_free (which is a no-op on a zeroed or freed
 * result). */
#ifndef MXC_TEST_RUNNER_H
#define MXC_TEST_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RUN_DEFAULT_TIMEOUT_S 60 /* a test run of the CLI takes well under a second */
#define RUN_PATH_MAX 4096

typedef struct {
    int status;      /* exit status (0..255) when the program exited, else -1 */
    int signal;      /* the signal that ended it, else 0 */
    bool timed_out;  /* killed by run_cmd after the timeout */
    char *out;       /* stdout, NUL-terminated (may also contain NUL bytes) */
    size_t out_len;
    char *err;       /* stderr, NUL-terminated */
    size_t err_len;
} run_result;

/* Runs argv[0] (looked up in PATH when it has no slash) with arguments argv
 * (NULL-terminated). Returns 0 when the program ran and exited by itself
 * (r->status holds its status, 127 when it could not be executed); -1 when it
 * could not be started, was killed by a signal, or ran past timeout_s seconds
 * (r->timed_out). On every return r holds whatever output was captured and
 * must be freed with run_result_free. */
int run_cmd(const char *const *argv, unsigned timeout_s, run_result *r);

/* Frees the buffers of r and zeroes it. */
void run_result_free(run_result *r);

/* Creates a private directory "$TMPDIR/mxc-<tag>-XXXXXX" (or under /tmp) and
 * writes its path into out. */
int run_mkdtemp(const char *tag, char *out, size_t outlen);

/* Removes path and everything under it (symlinks are removed, not followed).
 * A path that does not exist is not an error. */
int run_rmtree(const char *path);

/* For cmocka group/test fixtures: *state becomes a new temp directory (a
 * malloc'ed path, tagged `tag`), and is removed and freed again. Both return
 * 0, or -1 when the directory cannot be made or removed. */
int run_tmpdir_setup(void **state, const char *tag);
int run_tmpdir_teardown(void **state);

/* Copies every regular file of directory src (symlinks followed, so a file
 * that is a link becomes a real file) into directory dst, created when
 * missing. Subdirectories and other entries are skipped. */
int run_copy_dir(const char *src, const char *dst);

/* Copies the file src (symlinks followed) to dst, created or truncated. */
int run_copy_file(const char *src, const char *dst);

/* Writes len bytes at offset off of an existing file, without truncating it. */
int run_pwrite(const char *path, uint64_t off, const void *buf, size_t len);

/* Reads the whole file: *out is malloc'ed and NUL-terminated (caller frees),
 * *len its length without the terminator (len may be NULL). */
int run_read_file(const char *path, char **out, size_t *len);

/* Writes the NUL-terminated text as the whole file at path. */
int run_write_file(const char *path, const char *text);

/* "dir/name" into out; -1 (ENAMETOOLONG) when it does not fit. */
int run_join(char *out, size_t outlen, const char *dir, const char *name);

#endif

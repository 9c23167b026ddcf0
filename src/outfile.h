/* outfile.h - writing an output file (a report) whole or not at all, or
 * straight through to the stream that is already there; and checking that
 * standard output took everything written to it.
 *
 * What a path names decides how it is written:
 *   "-"                     standard output (descriptor 1), every write checked.
 *   no file, a regular file a temporary file in the same directory, written,
 *                           fsync'ed and renamed over the path (the directory
 *                           fsync'ed too): on any error the temporary file is
 *                           removed and an existing file is left as it was.
 *                           A file replaced keeps its permission bits; a new one
 *                           gets 0666 less the umask.
 *   a symbolic link         resolved (realpath): to a regular file, that file is
 *                           replaced as above, in its own directory, and the
 *                           link stays a link; dangling, or to a directory, a
 *                           block device or a socket: refused.
 *   a FIFO, a char device   written through, never replaced (/dev/null,
 *   (or a link to one)      /dev/stdout, a pipe from `>(cmd)`): opened without
 *                           O_CREAT or O_TRUNC; a FIFO nobody reads is an error
 *                           ("no process is reading the FIFO"), not a hang.
 *   a directory, a block    refused.
 *   device, a socket
 * A regular file or a pipe that already is standard output or standard error
 * (`--json /dev/stdout | jq`, `--junit /dev/stderr 2>>ci.log`) is written
 * through that descriptor, so a redirection keeps its meaning (appending,
 * the same pipe) and is never replaced behind the shell's back.
 *
 * Writes to a FIFO or a pipe whose reader has gone fail with EPIPE instead of
 * killing the process (SIGPIPE is held off during them).
 *
 * Two steps, so that a caller can refuse a resolved target before anything is
 * opened (verify refuses anything inside SRC or DST) and so that everything
 * is checked before any work starts (SPEC §2): outfile_resolve looks, opens
 * nothing; outfile_open opens the stream or the directory and checks that it
 * can be written; outfile_commit writes, once, at the end.
 *
 * Errors: -1 with err holding one line that names the path (escaped) and the
 * fault: "cannot write 'P': is a directory", "...: No space left on device",
 * "cannot write to standard output: ...". Nothing here prints or exits. */
#ifndef MXC_OUTFILE_H
#define MXC_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define OUTFILE_STDOUT "-"
#define OUTFILE_TMP_TRIES 100   /* temporary names tried before giving up */
#define OUTFILE_TMP_BASE_MAX 200 /* of the target's name in the temporary name (NAME_MAX is 255) */

typedef struct outfile outfile;

/* Looks at path and decides how it will be written (above). Returns 0 with
 * *out (free with outfile_close), or -1 with err when path is refused or
 * cannot be resolved (a directory that does not exist, no permission to look). */
int outfile_resolve(const char *path, outfile **out, char *err, size_t errlen);

/* The path as given to outfile_resolve. */
const char *outfile_path(const outfile *o);

/* Where the bytes will land as a real path (no symlinks, ".", ".."): the
 * replaced or new file, or the FIFO or device; NULL for "-" and for a pipe
 * that has no name. For refusing a target inside a directory. */
const char *outfile_real_path(const outfile *o);

/* True when path itself is a symbolic link (outfile_real_path says where to). */
bool outfile_via_link(const outfile *o);

/* True when the bytes go to standard output ("-", or the same file or pipe). */
bool outfile_is_stdout(const outfile *o);

/* True when a and b would write the same file, however spelled (through
 * links, "." and "..", hard links), or both to the same descriptor or the
 * same FIFO. Character devices never count: two reports to /dev/null or to a
 * terminal do not overwrite each other. */
bool outfile_same(const outfile *a, const outfile *b);

/* Opens what outfile_resolve found: a FIFO or a device for writing (an error
 * when nobody reads the FIFO), or the directory of a file to be replaced (an
 * error when it is not writable). Returns 0 or -1 with err. */
int outfile_open(outfile *o, char *err, size_t errlen);

/* Writes the len bytes of data as the whole output, once, after
 * outfile_open. Returns 0, or -1 with err: then a replaced file is as it was
 * and no temporary file is left (one exception: when only the fsync of the
 * directory after the rename failed, the new file is in place but may not
 * survive a crash, and err says "syncing its directory"); a stream may have
 * taken part of the data. */
int outfile_commit(outfile *o, const char *data, size_t len, char *err, size_t errlen);

/* The same, written as a stream (a report too large to hold in memory):
 * outfile_begin gives the stream (NULL with err), outfile_finish closes it
 * and puts the file in place, with outfile_commit's guarantees. */
FILE *outfile_begin(outfile *o, char *err, size_t errlen);
int outfile_finish(outfile *o, FILE *f, char *err, size_t errlen);

/* Closes what outfile_open opened and frees o. outfile_close(NULL) is a no-op. */
void outfile_close(outfile *o);

/* A text stream over descriptor fd (left open) for what people read (the
 * verify summary, inspect): every write is checked and the first failure is
 * kept with its errno, which stdio alone loses once it drops a buffer it
 * could not write. Line-buffered on a terminal. t is the caller's and must
 * outlive the stream. Out of memory aborts, as xmalloc does. */
typedef struct {
    int fd;
    int error; /* errno of the first failed write, or 0 */
} outfile_text;

FILE *outfile_text_open(outfile_text *t, int fd);

/* Flushes and closes f. Returns 0, or -1 with "cannot write to standard
 * output: <why>" (standard error, descriptor N) when any write failed. */
int outfile_text_close(FILE *f, outfile_text *t, char *err, size_t errlen);

/* Descriptors 0, 1 and 2 that are closed get /dev/null, read-only, so no
 * file opened later lands on them (a report would receive the terminal
 * summary) and writes to a closed stdout fail (EBADF) instead. Call first in
 * main. */
void outfile_guard_std_fds(void);

/* Flushes stdout; -1 with "cannot write to standard output: <why>" when that
 * or any earlier write to it failed. Call last in main. */
int outfile_flush_stdout(char *err, size_t errlen);

#endif

/* sha256.h - SHA-256 through OpenSSL's libcrypto (no hand-written hash):
 * rule files in a report's provenance, and file manifests. */
#ifndef MXC_SHA256_H
#define MXC_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_HEX_LEN 65 /* 64 hex digits and the NUL */

/* The digest of data[0..len) as lowercase hex into out. */
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN]);

/* The digest of the first size bytes of the open file fd, read in large
 * pieces from offset 0. Returns 0, or -1 with why saying what the read met
 * (a file shorter than size is a fault, not a digest). */
int sha256_fd_hex(int fd, uint64_t size, char out[SHA256_HEX_LEN], char *why, size_t whylen);

#endif

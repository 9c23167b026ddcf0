/* sha256.h - SHA-256 through OpenSSL's libcrypto (no hand-written hash):
 * rule files in a report's provenance, and file manifests. */
#ifndef MXC_SHA256_H
#define MXC_SHA256_H

#include <stddef.h>

#define SHA256_HEX_LEN 65 /* 64 hex digits and the NUL */

/* The digest of data[0..len) as lowercase hex into out. */
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN]);

#endif

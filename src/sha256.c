#include "sha256.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

#define HASH_READ ((size_t)8 << 20) /* large reads: the hash, not the syscalls, sets the pace */

static void hex(const unsigned char *md, unsigned n, char out[SHA256_HEX_LEN])
{
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
        abort(); /* libcrypto failing on memory is not an input error */
    hex(md, n, out);
}

int sha256_fd_hex(int fd, uint64_t size, char out[SHA256_HEX_LEN], char *why, size_t whylen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *buf = xmalloc(HASH_READ);
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        abort();
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* a hint: cold files read ahead */
    int rc = 0;
    for (uint64_t off = 0; off < size && rc == 0; off += HASH_READ) {
        size_t len = size - off < HASH_READ ? (size_t)(size - off) : HASH_READ;
        rc = util_pread_exact(fd, buf, len, off, why, whylen);
        if (rc == 0 && EVP_DigestUpdate(ctx, buf, len) != 1)
            abort();
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (rc == 0) {
        if (EVP_DigestFinal_ex(ctx, md, &n) != 1 || n != 32)
            abort();
        hex(md, n, out);
    }
    EVP_MD_CTX_free(ctx);
    free(buf);
    return rc;
}

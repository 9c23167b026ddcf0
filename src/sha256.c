#include "sha256.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

struct sha256_stream {
    EVP_MD_CTX *ctx;
};

sha256_stream *sha256_begin(void)
{
    sha256_stream *s = xmalloc(sizeof *s);
    s->ctx = EVP_MD_CTX_new();
    if (!s->ctx || EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1)
        abort();
    return s;
}

void sha256_update(sha256_stream *s, const void *data, size_t len)
{
    if (EVP_DigestUpdate(s->ctx, data, len) != 1)
        abort();
}

void sha256_end(sha256_stream *s, char out[SHA256_HEX_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(s->ctx, md, &n) != 1 || n != 32)
        abort();
    hex(md, n, out);
    EVP_MD_CTX_free(s->ctx);
    free(s);
}

int sha256_fd_hex(int fd, uint64_t size, char out[SHA256_HEX_LEN], char *why, size_t whylen)
{
    sha256_stream *s = sha256_begin();
    unsigned char *buf = xmalloc(HASH_READ);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* a hint: cold files read ahead */
    int rc = 0;
    for (uint64_t off = 0; off < size && rc == 0; off += HASH_READ) {
        size_t len = size - off < HASH_READ ? (size_t)(size - off) : HASH_READ;
        rc = util_pread_exact(fd, buf, len, off, why, whylen);
        if (rc == 0)
            sha256_update(s, buf, len);
    }
    char digest[SHA256_HEX_LEN];
    sha256_end(s, digest); /* frees the stream either way; a failed read's digest is dropped */
    if (rc == 0)
        memcpy(out, digest, SHA256_HEX_LEN);
    free(buf);
    return rc;
}

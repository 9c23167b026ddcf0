#include "backend.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "util.h"

#if MXC_HAVE_CUDA
#include "cuda_backend.h"
#endif

struct backend {
    bool cuda;
    struct cuda_ctx *ctx; /* CUDA only */
};

bool backend_cuda_built(void)
{
    return MXC_HAVE_CUDA;
}

int backend_cuda_devices(void)
{
#if MXC_HAVE_CUDA
    return cuda_backend_device_count();
#else
    return 0;
#endif
}

int backend_open(const char *name, backend **out, char *err, size_t errlen)
{
    *out = NULL;
    bool want_cuda = strcmp(name, "cuda") == 0, automatic = strcmp(name, "auto") == 0;
    if (!want_cuda && !automatic && strcmp(name, "cpu") != 0) {
        char shown[128];
        snprintf(err, errlen, "--backend: '%s' is not one of auto, cuda, cpu",
                 text_escape(name, shown, sizeof shown));
        return -1;
    }
    backend *b = xcalloc(1, sizeof *b);
#if MXC_HAVE_CUDA
    if ((want_cuda || automatic) && backend_cuda_devices() > 0) {
        if (cuda_backend_open(&b->ctx, err, errlen) == 0)
            b->cuda = true;
        else if (want_cuda) {
            free(b);
            return -1;
        }
    }
#endif
    if (want_cuda && !b->cuda) {
        if (!backend_cuda_built())
            snprintf(err, errlen, "--backend cuda: this binary was built without CUDA (no nvcc, or make CUDA=0)");
        else
            snprintf(err, errlen, "--backend cuda: no usable CUDA device");
        free(b);
        return -1;
    }
    *out = b;
    return 0;
}

void backend_close(backend *b)
{
    if (!b)
        return;
#if MXC_HAVE_CUDA
    if (b->cuda)
        cuda_backend_close(b->ctx);
#endif
    free(b);
}

const char *backend_name(const backend *b)
{
    return b->cuda ? "cuda" : "cpu";
}

size_t backend_devices(const backend *b, char ***out)
{
    char **v = xcalloc(1, sizeof *v);
#if MXC_HAVE_CUDA
    if (b->cuda) {
        char name[256];
        cuda_backend_device_name(0, name, sizeof name); /* the one device the backend uses */
        v[0] = xstrdup(name);
        *out = v;
        return 1;
    }
#endif
    (void)b;
    v[0] = xasprintf("cpu: %d threads", omp_get_max_threads());
    *out = v;
    return 1;
}

void *backend_host_alloc(backend *b, size_t n)
{
#if MXC_HAVE_CUDA
    if (b->cuda) {
        void *p = cuda_backend_host_alloc(n);
        if (p)
            return p;
        /* pinned memory is limited: fall back to ordinary memory */
    }
#endif
    (void)b;
    return xmalloc(n);
}

void backend_host_free(backend *b, void *p)
{
    if (!p)
        return;
#if MXC_HAVE_CUDA
    if (b->cuda && cuda_backend_host_free(p))
        return;
#endif
    (void)b;
    free(p);
}

int backend_compare_slab(backend *b, const mx_geom *g, const mx_slab *s, const mx_buffers *buf,
                         const mx_variant *v, bool requant, stats_acc *acc, uint64_t *hist,
                         char *err, size_t errlen)
{
#if MXC_HAVE_CUDA
    if (b->cuda)
        return cuda_backend_compare_slab(b->ctx, g, s, buf, v, requant, acc, hist, err, errlen);
#endif
    (void)b;
    (void)err;
    (void)errlen;
    mx_compare_slab_cpu(g, s, buf, v, requant, acc, hist);
    return 0;
}

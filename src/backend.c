#include "backend.h"

#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "util.h"

#if MXC_HAVE_CUDA
#include "cuda_backend.h"
#endif

#define MAX_GPUS 64
#define BACKEND_ERR_LEN 512

struct backend {
    bool want_cuda, automatic;
    int asked[MAX_GPUS], nasked; /* a list of ordinals, or ... */
    int first_n;                 /* ... the first N devices (0: all) */
    bool listed;
    pthread_t starter;
    bool starting;                /* the starter thread runs or has not been joined */
    pthread_mutex_t mu;
    int rc;                       /* of the start */
    char err[BACKEND_ERR_LEN];
    bool cuda;
    struct cuda_ctx *ctx;         /* CUDA only */
    int workers;
    int devices[MAX_GPUS];        /* CUDA: each worker's device */
    stats_acc cpu_acc;            /* the CPU's one lane: the job computed at submit */
    uint64_t cpu_hist[MX_HIST_LEN];
};

static bool cuda_started; /* set by a starter thread, read after it was joined */

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

/* "all", N, or a comma list of ordinals. */
static int parse_gpus(backend *b, const char *s, char *err, size_t errlen)
{
    char shown[128];
    if (!s || strcmp(s, "all") == 0)
        return 0;
    const char *p = s;
    char *end;
    bool comma = strchr(s, ',') != NULL;
    for (;;) { /* number (',' number)* */
        long v = *p >= '0' && *p <= '9' ? strtol(p, &end, 10) : -1;
        if (v < 0 || (*end != ',' && *end != '\0') || v >= 4096 || b->nasked == MAX_GPUS) {
            snprintf(err, errlen, "--gpus: '%s' is not all, a count or a list of device numbers (0,1,...)",
                     text_escape(s, shown, sizeof shown));
            return -1;
        }
        b->asked[b->nasked++] = (int)v;
        if (*end == '\0')
            break;
        p = end + 1;
    }
    if (!comma) { /* a single number is a count */
        if (b->asked[0] == 0) {
            snprintf(err, errlen, "--gpus: 0 GPUs; use --backend cpu for none");
            return -1;
        }
        b->first_n = b->asked[0];
        b->nasked = 0;
        return 0;
    }
    b->listed = true;
    return 0;
}

#if MXC_HAVE_CUDA
/* The devices asked for, checked against those there are. */
static int pick_devices(backend *b, int have, int *devs, int *n, char *err, size_t errlen)
{
    if (b->listed) {
        for (int k = 0; k < b->nasked; k++)
            if (b->asked[k] >= have) {
                snprintf(err, errlen, "--gpus: there is no device %d (%d device%s)", b->asked[k], have,
                         have == 1 ? "" : "s");
                return -1;
            }
        memcpy(devs, b->asked, (size_t)b->nasked * sizeof *devs);
        *n = b->nasked;
        return 0;
    }
    if (b->first_n > have) {
        snprintf(err, errlen, "--gpus %d: only %d device%s", b->first_n, have, have == 1 ? "" : "s");
        return -1;
    }
    *n = b->first_n ? b->first_n : have > MAX_GPUS ? MAX_GPUS : have;
    for (int k = 0; k < *n; k++)
        devs[k] = k;
    return 0;
}

static void *start_cuda(void *arg)
{
    backend *b = arg;
    int have = backend_cuda_devices(), devs[MAX_GPUS], n = 0;
    if (have == 0) {
        if (b->want_cuda)
            snprintf(b->err, sizeof b->err, "--backend cuda: no usable CUDA device");
        b->rc = b->want_cuda ? -1 : 0;
        return NULL;
    }
    if (pick_devices(b, have, devs, &n, b->err, sizeof b->err) < 0) {
        b->rc = -1;
        return NULL;
    }
    if (cuda_backend_open(devs, n, &b->ctx, b->err, sizeof b->err) < 0) {
        /* auto without --gpus falls back to the CPU, silently, as before */
        b->rc = b->automatic && !b->listed && !b->first_n ? 0 : -1;
        return NULL;
    }
    b->cuda = true;
    b->workers = n;
    memcpy(b->devices, devs, (size_t)n * sizeof *devs);
    cuda_started = true;
    return NULL;
}
#endif

int backend_open(const char *name, const char *gpus, backend **out, char *err, size_t errlen)
{
    *out = NULL;
    bool want_cuda = strcmp(name, "cuda") == 0, automatic = strcmp(name, "auto") == 0;
    if (!want_cuda && !automatic && strcmp(name, "cpu") != 0) {
        char shown[128];
        snprintf(err, errlen, "--backend: '%s' is not one of auto, cuda, cpu",
                 text_escape(name, shown, sizeof shown));
        return -1;
    }
    if (want_cuda && !backend_cuda_built()) {
        snprintf(err, errlen, "--backend cuda: this binary was built without CUDA (no nvcc, or make CUDA=0)");
        return -1;
    }
    backend *b = xcalloc(1, sizeof *b);
    b->want_cuda = want_cuda;
    b->automatic = automatic;
    b->workers = 1;
    pthread_mutex_init(&b->mu, NULL);
    if (parse_gpus(b, gpus, err, errlen) < 0) {
        backend_close(b);
        return -1;
    }
#if MXC_HAVE_CUDA
    if (want_cuda || automatic) {
        if (pthread_create(&b->starter, NULL, start_cuda, b) == 0)
            b->starting = true;
        else
            start_cuda(b);
    }
#endif
    *out = b;
    return 0;
}

bool backend_cuda_started(void)
{
    return cuda_started;
}

bool backend_may_use_gpu(const backend *b)
{
    return backend_cuda_built() && (b->want_cuda || b->automatic);
}

int backend_ready(backend *b, char *err, size_t errlen)
{
    pthread_mutex_lock(&b->mu);
    if (b->starting) {
        pthread_join(b->starter, NULL);
        b->starting = false;
    }
    pthread_mutex_unlock(&b->mu);
    if (b->rc < 0 && err)
        snprintf(err, errlen, "%s", b->err);
    return b->rc;
}

void backend_close(backend *b)
{
    if (!b)
        return;
    backend_ready(b, NULL, 0);
#if MXC_HAVE_CUDA
    if (b->ctx)
        cuda_backend_close(b->ctx);
#endif
    pthread_mutex_destroy(&b->mu);
    free(b);
}

const char *backend_name(backend *b)
{
    backend_ready(b, NULL, 0);
    return b->cuda ? "cuda" : "cpu";
}

int backend_workers(const backend *b)
{
    return b->workers;
}

int backend_lanes(const backend *b)
{
    return b->cuda ? BACKEND_LANES : 1;
}

unsigned long long backend_device_peak(void)
{
#if MXC_HAVE_CUDA
    return cuda_backend_device_peak();
#else
    return 0;
#endif
}

int backend_cpu_threads(int requested)
{
    if (requested > 0)
        return requested;
    if (getenv("OMP_NUM_THREADS"))
        return omp_get_max_threads();
    int procs = omp_get_num_procs();
    return procs - procs / BACKEND_CPU_READERS_PER;
}

size_t backend_devices(const backend *b, char ***out)
{
#if MXC_HAVE_CUDA
    if (b->cuda) { /* one entry per worker, as the GPUs were asked for */
        char **v = xcalloc((size_t)b->workers, sizeof *v);
        for (int k = 0; k < b->workers; k++) {
            char name[256];
            cuda_backend_device_name(b->devices[k], name, sizeof name);
            v[k] = xstrdup(name);
        }
        *out = v;
        return (size_t)b->workers;
    }
#endif
    (void)b;
    char **v = xcalloc(1, sizeof *v);
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

bool backend_pin(backend *b, void *p, size_t n)
{
#if MXC_HAVE_CUDA
    if (b->cuda && p && n)
        return cuda_backend_pin(b->ctx, p, n);
#endif
    (void)b;
    (void)p;
    (void)n;
    return false;
}

void backend_unpin(backend *b, void *p)
{
#if MXC_HAVE_CUDA
    if (b->cuda && p)
        cuda_backend_unpin(b->ctx, p);
#endif
    (void)b;
    (void)p;
}

int backend_submit(backend *b, int worker, int lane, const mx_geom *g, const mx_placed_slab *slabs,
                   size_t n, const mx_job_data *d, const mx_variant *v, bool requant, char *err,
                   size_t errlen)
{
#if MXC_HAVE_CUDA
    if (b->cuda)
        return cuda_backend_submit(b->ctx, worker, lane, g, slabs, n, d, v, requant, err, errlen);
#endif
    (void)worker;
    (void)lane;
    (void)err;
    (void)errlen;
    stats_init(&b->cpu_acc);
    memset(b->cpu_hist, 0, sizeof b->cpu_hist);
    for (size_t k = 0; k < n; k++) {
        mx_buffers at = {(const uint16_t *)(const void *)((const char *)d->buf.src + slabs[k].src),
                         d->buf.blocks + slabs[k].blocks, d->buf.scales + slabs[k].scales};
        mx_compare_slab_cpu(g, &slabs[k].slab, &at, v, requant, &b->cpu_acc, b->cpu_hist);
    }
    return 0;
}

int backend_collect(backend *b, int worker, int lane, stats_acc *acc, uint64_t *hist, char *err,
                    size_t errlen)
{
#if MXC_HAVE_CUDA
    if (b->cuda)
        return cuda_backend_collect(b->ctx, worker, lane, acc, hist, err, errlen);
#endif
    (void)worker;
    (void)lane;
    (void)err;
    (void)errlen;
    stats_merge(acc, &b->cpu_acc);
    if (hist)
        for (int i = 0; i < MX_HIST_LEN; i++)
            hist[i] += b->cpu_hist[i];
    return 0;
}

int backend_compare_slab(backend *b, const mx_geom *g, const mx_slab *s, const mx_buffers *buf,
                         const mx_variant *v, bool requant, stats_acc *acc, uint64_t *hist,
                         char *err, size_t errlen)
{
    if (backend_ready(b, err, errlen) < 0)
        return -1;
#if MXC_HAVE_CUDA
    if (b->cuda)
        return cuda_backend_compare_slab(b->ctx, g, s, buf, v, requant, acc, hist, err, errlen);
#endif
    mx_compare_slab_cpu(g, s, buf, v, requant, acc, hist);
    return 0;
}

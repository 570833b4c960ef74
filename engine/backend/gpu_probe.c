/* gpu_probe.c: finding a usable NVIDIA GPU and loading the CUDA backend on
 * demand (gpu.h). Plain C: only the driver's own library is opened to
 * probe, so `device: auto` costs a failed dlopen on a machine without a
 * driver, and the backend (with cuBLAS and cuDNN, hundreds of megabytes) is
 * loaded only once a device is known to exist. Libraries are never closed:
 * the CUDA runtime inside the backend registers exit-time handlers. */
#include "engine/backend/gpu.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Driver API results the probe names (cuda.h's CUresult). */
enum { CU_ERROR_STUB_LIBRARY = 34, CU_ERROR_NO_DEVICE = 100 };

/* The oldest driver API version that runs the backend's CUDA 13 runtime
 * and its PTX (driver branch R580). */
#define GPU_MIN_DRIVER_VERSION 13000

typedef int (*cu_init_fn)(unsigned flags);
typedef int (*cu_int_fn)(int *value);

int dl_gpu_probe(dl_err *err)
{
    void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!driver)
        return dl_fail(err, DL_EXIT_FAIL, "no NVIDIA driver: %s", dlerror());
    cu_init_fn init;
    cu_int_fn driver_version, device_count;
    /* the POSIX way to turn dlsym's object pointer into a function pointer */
    *(void **)&init = dlsym(driver, "cuInit");
    *(void **)&driver_version = dlsym(driver, "cuDriverGetVersion");
    *(void **)&device_count = dlsym(driver, "cuDeviceGetCount");
    if (!init || !driver_version || !device_count)
        return dl_fail(err, DL_EXIT_FAIL,
                       "libcuda.so.1 lacks cuInit, cuDriverGetVersion or cuDeviceGetCount: not an "
                       "NVIDIA driver library");
    int rc = init(0);
    if (rc != 0)
        return dl_fail(
            err, DL_EXIT_FAIL, "the NVIDIA driver failed to initialise: cuInit error %d%s", rc,
            rc == CU_ERROR_STUB_LIBRARY ? " (stub driver library: no real driver installed)"
            : rc == CU_ERROR_NO_DEVICE  ? " (no CUDA device)"
                                        : "");
    int version = 0, count = 0;
    if (driver_version(&version) != 0 || version < GPU_MIN_DRIVER_VERSION)
        return dl_fail(err, DL_EXIT_FAIL,
                       "the NVIDIA driver supports CUDA %d.%d; the CUDA backend needs 13.0 (driver "
                       "R580 or newer)",
                       version / 1000, version % 1000 / 10);
    if (device_count(&count) != 0 || count < 1)
        return dl_fail(err, DL_EXIT_FAIL, "no CUDA device (check CUDA_VISIBLE_DEVICES)");
    return count;
}

/* $DLTRAIN_CUDA_BACKEND, else libdltrain_cuda.so next to the executable. */
static int backend_path(char *path, size_t n, dl_err *err)
{
    const char *override = getenv(DL_GPU_BACKEND_ENV);
    if (override && *override) {
        snprintf(path, n, "%s", override);
        return DL_OK;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return dl_fail(err, DL_EXIT_FAIL,
                       "cannot find the executable's directory (/proc/self/exe: %s) to look "
                       "for %s; set %s",
                       strerror(errno), DL_GPU_BACKEND_FILE, DL_GPU_BACKEND_ENV);
    exe[len] = '\0';
    *strrchr(exe, '/') = '\0'; /* readlink gives an absolute path */
    snprintf(path, n, "%s/%s", exe, DL_GPU_BACKEND_FILE);
    return DL_OK;
}

dl_backend *be_gpu_create(dl_err *err)
{
    char path[PATH_MAX + sizeof DL_GPU_BACKEND_FILE];
    if (backend_path(path, sizeof path, err))
        return NULL;
    if (access(path, R_OK) != 0) {
        int overridden = getenv(DL_GPU_BACKEND_ENV) && *getenv(DL_GPU_BACKEND_ENV);
        dl_fail(err, DL_EXIT_FAIL, "no CUDA backend: %s: %s (%s)", path, strerror(errno),
                overridden ? "set by " DL_GPU_BACKEND_ENV
                           : "this dltrain was built without CUDA; rebuild with nvcc on the "
                             "PATH, or make CUDA=1");
        return NULL;
    }
    if (dl_gpu_probe(err) < 0)
        return NULL;
    void *backend = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!backend) {
        dl_fail(err, DL_EXIT_FAIL, "cannot load the CUDA backend (a CUDA library is missing?): %s",
                dlerror());
        return NULL;
    }
    dl_gpu_entry create;
    *(void **)&create = dlsym(backend, DL_GPU_ENTRY_NAME);
    if (!create) {
        dl_fail(err, DL_EXIT_FAIL, "%s has no %s: not a dltrain CUDA backend", path,
                DL_GPU_ENTRY_NAME);
        return NULL;
    }
    return create(DL_GPU_ABI_VERSION, sizeof(dl_backend), err);
}

/* tb_record.c: TFRecord framing (tensorboard-format.md §2) and the buffered
 * event-file writer. Every Event is framed whole into the pending buffer,
 * so whatever reaches the file is a sequence of complete records followed
 * by, at worst, one record cut short, which every reader skips (§9). */
#include "engine/tb_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TB_CRC32C_POLY 0x82F63B78u  /* Castagnoli, reflected */
#define TB_CRC_MASK_DELTA 0xA282EAD8u
#define TB_OPEN_TRIES 1000

struct tb_writer {
    int fd;
    char *path;
    tb_buf event;       /* the Event being built */
    tb_buf pending;     /* complete records not yet written */
    double last_flush;  /* monotonic seconds */
};

static uint32_t tb_crc_table[256];
static pthread_once_t tb_crc_table_once = PTHREAD_ONCE_INIT;

static void tb_crc_table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int bit = 0; bit < 8; bit++)
            c = (c & 1) ? (c >> 1) ^ TB_CRC32C_POLY : c >> 1;
        tb_crc_table[i] = c;
    }
}

uint32_t tb_crc32c(const void *data, size_t len)
{
    pthread_once(&tb_crc_table_once, tb_crc_table_init);
    const uint8_t *p = data;
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++)
        crc = tb_crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

uint32_t tb_mask_crc(uint32_t crc)
{
    return ((crc >> 15) | (crc << 17)) + TB_CRC_MASK_DELTA;
}

static void tb_store_le(uint8_t *out, uint64_t value, int nbytes)
{
    for (int i = 0; i < nbytes; i++)
        out[i] = (uint8_t)(value >> (8 * i));
}

size_t tb_encode_record(const uint8_t *data, size_t len, uint8_t *out)
{
    tb_store_le(out, len, 8);
    tb_store_le(out + 8, tb_mask_crc(tb_crc32c(out, 8)), 4);
    memcpy(out + 12, data, len);
    tb_store_le(out + 12 + len, tb_mask_crc(tb_crc32c(data, len)), 4);
    return len + TB_RECORD_OVERHEAD;
}

static double tb_clock(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double tb_wall_time(void)
{
    return tb_clock(CLOCK_REALTIME);
}

/* mkdir -p: every missing component of dir, in order. */
static int tb_make_dirs(const char *dir, dl_err *err)
{
    size_t len = strlen(dir);
    char *path = malloc(len + 1);
    if (!path)
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory", dir);
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            int rc = dl_fail(err, DL_EXIT_FAIL, "%s: cannot create directory: %s",
                             path, strerror(errno));
            free(path);
            return rc;
        }
        path[i] = saved;
    }
    free(path);
    return DL_OK;
}

/* gethostname() with '/' replaced, since it becomes part of a file name. */
static void tb_host_name(char *host, size_t n)
{
    if (gethostname(host, n) != 0)
        snprintf(host, n, "localhost");
    host[n - 1] = '\0';
    for (char *c = host; *c; c++)
        if (*c == '/')
            *c = '_';
}

/* Creates a new event file in dir. The per-process counter makes the name
 * unique within this process; O_EXCL guards against another process (a
 * reused pid within the same second), in which case the next number is
 * tried. */
static int tb_create_file(tb_writer *w, const char *dir, dl_err *err)
{
    static atomic_uint file_counter;
    char host[256];
    tb_host_name(host, sizeof host);
    int dir_len = (int)strlen(dir);
    while (dir_len > 1 && dir[dir_len - 1] == '/')
        dir_len--;
    long long secs = (long long)time(NULL);
    long pid = (long)getpid();
    for (int attempt = 0; attempt < TB_OPEN_TRIES; attempt++) {
        unsigned n = atomic_fetch_add(&file_counter, 1);
        const char *fmt = "%.*s/events.out.tfevents.%010lld.%s.%ld.%u.v2";
        int need = snprintf(NULL, 0, fmt, dir_len, dir, secs, host, pid, n);
        free(w->path);
        w->path = malloc((size_t)need + 1);
        if (!w->path)
            return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory", dir);
        snprintf(w->path, (size_t)need + 1, fmt, dir_len, dir, secs, host, pid, n);
        w->fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (w->fd >= 0)
            return DL_OK;
        if (errno != EEXIST)
            return dl_fail(err, DL_EXIT_FAIL, "%s: cannot create: %s", w->path,
                           strerror(errno));
    }
    return dl_fail(err, DL_EXIT_FAIL, "%s: no free event file name", dir);
}

int tb_open(tb_writer **out, const char *dir, dl_err *err)
{
    *out = NULL;
    if (!*dir)
        return dl_fail(err, DL_EXIT_FAIL, "TensorBoard: empty log directory name");
    tb_writer *w = calloc(1, sizeof *w);
    if (!w)
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory", dir);
    w->fd = -1;
    w->last_flush = tb_clock(CLOCK_MONOTONIC);
    if (tb_make_dirs(dir, err) != DL_OK || tb_create_file(w, dir, err) != DL_OK) {
        tb_close(w, NULL);
        return DL_ERR;
    }
    /* Flushed at once, as TensorFlow does: a reader sees a valid file. */
    tb_encode_file_version(tb_start_event(w), tb_wall_time());
    if (tb_finish_event(w, err) != DL_OK || tb_flush(w, err) != DL_OK) {
        tb_close(w, NULL);
        return DL_ERR;
    }
    *out = w;
    return DL_OK;
}

tb_buf *tb_start_event(tb_writer *w)
{
    w->event.len = 0;
    w->event.failed = 0;
    return &w->event;
}

int tb_finish_event(tb_writer *w, dl_err *err)
{
    if (w->event.failed || !tb_buf_reserve(&w->pending,
                                           w->event.len + TB_RECORD_OVERHEAD)) {
        w->pending.failed = 0; /* the records already there stay valid */
        return dl_fail(err, DL_EXIT_FAIL, "%s: out of memory for an event",
                       w->path);
    }
    w->pending.len += tb_encode_record(w->event.data, w->event.len,
                                       w->pending.data + w->pending.len);
    if (tb_clock(CLOCK_MONOTONIC) - w->last_flush >= TB_FLUSH_INTERVAL_SECS)
        return tb_flush(w, err);
    return DL_OK;
}

int tb_flush(tb_writer *w, dl_err *err)
{
    size_t done = 0;
    while (done < w->pending.len) {
        ssize_t n = write(w->fd, w->pending.data + done, w->pending.len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            /* Keep what is left, so a later flush continues the file
             * exactly where this one stopped. */
            memmove(w->pending.data, w->pending.data + done,
                    w->pending.len - done);
            w->pending.len -= done;
            return dl_fail(err, DL_EXIT_FAIL, "%s: write failed: %s", w->path,
                           strerror(saved));
        }
        done += (size_t)n;
    }
    w->pending.len = 0;
    w->last_flush = tb_clock(CLOCK_MONOTONIC);
    return DL_OK;
}

int tb_close(tb_writer *w, dl_err *err)
{
    if (!w)
        return DL_OK;
    int rc = DL_OK;
    if (w->fd >= 0) {
        rc = tb_flush(w, err);
        if (fsync(w->fd) != 0 && rc == DL_OK)
            rc = dl_fail(err, DL_EXIT_FAIL, "%s: fsync failed: %s", w->path,
                         strerror(errno));
        if (close(w->fd) != 0 && rc == DL_OK)
            rc = dl_fail(err, DL_EXIT_FAIL, "%s: close failed: %s", w->path,
                         strerror(errno));
    }
    tb_buf_free(&w->event);
    tb_buf_free(&w->pending);
    free(w->path);
    free(w);
    return rc;
}

const char *tb_path(const tb_writer *w)
{
    return w->path;
}

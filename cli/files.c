/* files.c: mkdir -p and atomic small-file writes. */
#include "cli/files.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int files_mkdirs(const char *path, dl_err *err)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0777) && errno != EEXIST)
            return dl_fail(err, DL_EXIT_FAIL, "cannot create directory %s: %s", buf,
                           strerror(errno));
        *p = saved;
        if (!saved)
            return DL_OK;
    }
}

int files_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int files_write_atomic(const char *path, const char *data, size_t len, dl_err *err)
{
    char tmp[4200], dir[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0)
        return dl_fail(err, DL_EXIT_FAIL, "cannot write %s: %s", path, strerror(errno));
    size_t done = 0;
    errno = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    int saved = done < len ? (errno ? errno : EIO) : 0;
    if (!saved && fsync(fd))
        saved = errno;
    if (close(fd) && !saved)
        saved = errno;
    if (saved) {
        unlink(tmp);
        return dl_fail(err, DL_EXIT_FAIL, "cannot write %s: %s", path, strerror(saved));
    }
    if (rename(tmp, path)) {
        saved = errno;
        unlink(tmp);
        return dl_fail(err, DL_EXIT_FAIL, "cannot write %s: %s", path, strerror(saved));
    }
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return DL_OK;
}

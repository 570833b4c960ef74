/* files.h: directories and small files the CLI writes. */
#ifndef CLI_FILES_H
#define CLI_FILES_H

#include "engine/backend/common.h"

/* mkdir -p */
int files_mkdirs(const char *path, dl_err *err);
/* Writes data to path atomically (temp file, fsync, rename, fsync dir). */
int files_write_atomic(const char *path, const char *data, size_t len, dl_err *err);
int files_exists(const char *path);

#endif

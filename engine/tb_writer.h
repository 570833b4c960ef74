/* tb_writer.h: TensorBoard event files written by hand
 * (shared/docs/tensorboard-format.md). One tb_writer owns one new event file
 * in one run directory. Each summary becomes one Event record that is built
 * in memory and appended whole to a pending buffer; tb_flush writes that
 * buffer, and every call flushes by itself when the last flush is older than
 * TB_FLUSH_INTERVAL_SECS, so a killed run loses at most a few seconds and a
 * file cut at any byte stays readable up to its last complete record.
 * Every call returns DL_OK, or DL_ERR with err saying "<file>: what"; a
 * failed write keeps the records not yet written for the next flush.
 * Use one writer per run directory, and increasing steps per tag.
 *
 * The pure encoders (CRC32C, record framing, protobuf primitives, whole
 * Event messages) are in tb_internal.h, for the tests. */
#ifndef DL_TB_WRITER_H
#define DL_TB_WRITER_H

#include "engine/backend/common.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TB_FLUSH_INTERVAL_SECS 2.0
#define TB_HISTOGRAM_BUCKETS 30     /* what TF2's summary.histogram uses */

typedef struct tb_writer tb_writer;

/* HParams session status (tensorboard.hparams.Status). */
enum {
    TB_STATUS_UNKNOWN = 0,
    TB_STATUS_SUCCESS = 1,
    TB_STATUS_FAILURE = 2,
    TB_STATUS_RUNNING = 3
};

/* The values are those of tensorboard.hparams.DataType; integers are
 * numbers (FLOAT64), as in TensorBoard's own writers. */
typedef enum tb_hparam_type {
    TB_HPARAM_STRING = 1,
    TB_HPARAM_BOOL = 2,
    TB_HPARAM_NUMBER = 3
} tb_hparam_type;

/* One hyperparameter of a session; the member named by type is used. */
typedef struct tb_hparam {
    const char *name;
    tb_hparam_type type;
    const char *string_value;
    double number_value;
    int bool_value;
} tb_hparam;

/* One hyperparameter column of an experiment and its domain: a discrete
 * list (nchoices > 0: string_choices for STRING, number_choices for
 * NUMBER), an interval (NUMBER with has_interval), or none. A BOOL always
 * gets the domain {false, true}. */
typedef struct tb_hparam_info {
    const char *name;
    tb_hparam_type type;
    const char *const *string_choices;
    const double *number_choices;
    int nchoices;
    int has_interval;
    double min_value, max_value;
} tb_hparam_info;

/* Creates dir (and its parents) and a new file in it,
 * events.out.tfevents.<secs>.<host>.<pid>.<n>.v2, never reusing an existing
 * one, and writes the file_version record. */
int tb_open(tb_writer **w, const char *dir, dl_err *err);

/* A scalar as Keras 3 / TF2 write it: a rank-0 DT_FLOAT tensor with the
 * scalars plugin metadata. */
int tb_scalar(tb_writer *w, const char *tag, int64_t step, double value,
              dl_err *err);

/* The histograms plugin's [k, 3] DT_DOUBLE tensor of (left, right, count)
 * with k = TB_HISTOGRAM_BUCKETS equal-width buckets; NaN and Inf values are
 * left out (tb_histogram_buckets counts them). */
int tb_histogram(tb_writer *w, const char *tag, int64_t step,
                 const float *values, size_t n, dl_err *err);

/* An image of height x width x channels bytes (row-major, channels 1 gray,
 * 2 gray+alpha, 3 RGB or 4 RGBA), stored as a PNG for the images plugin. */
int tb_image(tb_writer *w, const char *tag, int64_t step,
             const uint8_t *pixels, int height, int width, int channels,
             dl_err *err);

/* Markdown text for the text plugin. */
int tb_text(tb_writer *w, const char *tag, int64_t step, const char *text,
            dl_err *err);

/* The model's Keras JSON at step 0 under tag "keras" for the Graphs tab
 * (plugin "graph_keras_model"). */
int tb_keras_graph(tb_writer *w, const char *model_json, dl_err *err);

/* _hparams_/session_start_info: this run directory is one session.
 * group_name may be NULL or "" (the session is its own group). */
int tb_hparams_session_start(tb_writer *w, const tb_hparam *hparams, int n,
                             const char *group_name, double start_time_secs,
                             dl_err *err);

/* _hparams_/session_end_info with a TB_STATUS_* value. */
int tb_hparams_session_end(tb_writer *w, int status, double end_time_secs,
                           dl_err *err);

/* _hparams_/experiment, written once into the sweep's root directory: the
 * hparam columns and the metric columns (tag, read from the run
 * sub-directory metric_groups[i]: "train", "validation" or ""; a NULL
 * metric_groups means "" for all). */
int tb_hparams_experiment(tb_writer *w, const tb_hparam_info *hparams, int n,
                          const char *const *metric_tags,
                          const char *const *metric_groups, int nmetrics,
                          dl_err *err);

/* Writes the pending records with write(2) (no fsync). */
int tb_flush(tb_writer *w, dl_err *err);

/* Flushes, fsyncs, closes and frees; w may be NULL. Frees even on error. */
int tb_close(tb_writer *w, dl_err *err);

/* The event file's path. */
const char *tb_path(const tb_writer *w);

/* Seconds since the epoch (CLOCK_REALTIME), as every Event's wall_time and
 * for the hparams start and end times. */
double tb_wall_time(void);

#endif

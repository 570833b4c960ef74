/* test_gpu_training.c: a short training run (Conv2D, BatchNormalization,
 * MaxPooling2D, Dropout, Dense on synthetic images) on the CPU and on the
 * GPU, compared epoch by epoch: loss within rtol 1e-3, accuracy within
 * 0.02. Without a GPU it prints "GPU training: skipped: <reason>" and
 * compares two CPU runs instead (which must agree exactly), checking the
 * harness itself. */
#include "cli/session.h"
#include "engine/backend/gpu.h"
#include "tests/unit/gpu_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRAIN_LOSS_RTOL 1e-3
#define TRAIN_ACCURACY_ATOL 0.02

enum { TRAIN_SAMPLES = 192, IMAGE = 12, CLASSES = 3, EPOCHS = 3 };

static void write_idx(const char *path, const unsigned char *data, const int *dims, int ndim)
{
    FILE *f = fopen(path, "wb");
    unsigned char header[4] = {0, 0, 0x08, (unsigned char)ndim};
    size_t count = 1;
    fwrite(header, 1, 4, f);
    for (int i = 0; i < ndim; i++) {
        unsigned char be32[4] = {(unsigned char)(dims[i] >> 24), (unsigned char)(dims[i] >> 16),
                                 (unsigned char)(dims[i] >> 8), (unsigned char)dims[i]};
        fwrite(be32, 1, 4, f);
        count *= (size_t)dims[i];
    }
    fwrite(data, 1, count, f);
    fclose(f);
}

/* Blobs: class k lights a band of rows, plus noise; and the config. */
static void write_run(const char *dir, gc_rng *rng)
{
    static unsigned char images[TRAIN_SAMPLES * IMAGE * IMAGE], labels[TRAIN_SAMPLES];
    for (int s = 0; s < TRAIN_SAMPLES; s++) {
        labels[s] = (unsigned char)(s % CLASSES);
        for (int r = 0; r < IMAGE; r++)
            for (int c = 0; c < IMAGE; c++) {
                int lit = r / (IMAGE / CLASSES) == labels[s];
                images[(s * IMAGE + r) * IMAGE + c] =
                    (unsigned char)(gc_uniform(rng, 0, 60) + (lit ? 150 : 20));
            }
    }
    char path[4200];
    int image_dims[3] = {TRAIN_SAMPLES, IMAGE, IMAGE}, label_dims[1] = {TRAIN_SAMPLES};
    snprintf(path, sizeof path, "%s/images.idx", dir);
    write_idx(path, images, image_dims, 3);
    snprintf(path, sizeof path, "%s/labels.idx", dir);
    write_idx(path, labels, label_dims, 1);
    snprintf(path, sizeof path, "%s/run.yaml", dir);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "name: parity\nseed: 5\n"
            "data:\n  train: {format: idx, images: %s/images.idx, labels: %s/labels.idx}\n"
            "  rescale: 0.00392156862745098\n"
            "model:\n  input_shape: [%d, %d, 1]\n  layers:\n"
            "    - Conv2D: {filters: 8, kernel_size: 3, strides: 2, padding: same}\n"
            "    - BatchNormalization\n"
            "    - Activation: {activation: relu}\n"
            "    - MaxPooling2D\n"
            "    - Flatten\n"
            "    - Dense: {units: 16, activation: relu}\n"
            "    - Dropout: {rate: 0.25}\n"
            "    - Dense: {units: %d, activation: softmax}\n"
            "compile:\n  optimizer: {class_name: Adam, learning_rate: 0.01}\n"
            "  loss: sparse_categorical_crossentropy\n  metrics: [accuracy]\n"
            "fit: {epochs: %d, batch_size: 20}\n",
            dir, dir, IMAGE, IMAGE, CLASSES, EPOCHS);
    fclose(f);
}

/* Trains the run on `device`: the loss and accuracy of each epoch. */
static int train_on(const char *dir, const char *device, double *loss, double *accuracy,
                    dl_err *err)
{
    char config[4200], override[32];
    snprintf(config, sizeof config, "%s/run.yaml", dir);
    snprintf(override, sizeof override, "device=%s", device);
    const char *overrides[] = {override};
    session s = {0};
    int rc = session_load_config(&s, config, overrides, 1, err) || session_backend(&s, 1, 0, err) ||
             session_model(&s, 1, err) || session_compile(&s, err) || session_train_data(&s, err);
    batch_source *src = &s.train.src;
    for (int e = 0; e < EPOCHS && rc == DL_OK; e++) {
        trainer_begin_pass(&s.t);
        src->begin_epoch(src->ctx, e);
        for (int rows; (rows = src->next(src->ctx, s.t.x_host, s.t.y_host)) > 0;)
            trainer_train_batch(&s.t, rows);
        train_logs logs;
        logs_clear(&logs);
        trainer_pass_logs(&s.t, "", &logs);
        rc = trainer_device_status(&s.t, err) || logs_get(&logs, "loss", &loss[e]) ||
             logs_get(&logs, "accuracy", &accuracy[e]);
    }
    session_close(&s);
    return rc ? DL_ERR : DL_OK;
}

static void test_training(const char *other_device)
{
    char dir[] = "/tmp/dltrain_parity_XXXXXX";
    gc_rng rng = {31};
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp failed");
        return;
    }
    write_run(dir, &rng);
    double loss[2][EPOCHS], accuracy[2][EPOCHS];
    dl_err err = {0};
    int rc = train_on(dir, "cpu", loss[0], accuracy[0], &err) ||
             train_on(dir, other_device, loss[1], accuracy[1], &err);
    CHECK(rc == DL_OK, "training run: %s", err.msg);
    for (int e = 0; e < EPOCHS && rc == DL_OK; e++) {
        printf("epoch %d: loss cpu %.6f %s %.6f, accuracy cpu %.4f %s %.4f\n", e + 1, loss[0][e],
               other_device, loss[1][e], accuracy[0][e], other_device, accuracy[1][e]);
        CHECK_CLOSE(loss[1][e], loss[0][e], TRAIN_LOSS_RTOL, 0, "epoch %d loss %.6f, CPU %.6f",
                    e + 1, loss[1][e], loss[0][e]);
        CHECK_CLOSE(accuracy[1][e], accuracy[0][e], 0, TRAIN_ACCURACY_ATOL,
                    "epoch %d accuracy %.4f, CPU %.4f", e + 1, accuracy[1][e], accuracy[0][e]);
    }
    CHECK(rc != DL_OK || loss[0][EPOCHS - 1] < loss[0][0], "the run learns (loss %.4f -> %.4f)",
          loss[0][0], loss[0][EPOCHS - 1]);
    char path[4200];
    static const char *const files[] = {"images.idx", "labels.idx", "run.yaml"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

int main(void)
{
    dl_err err = {0};
    dl_backend *gpu = be_gpu_create(&err);
    const char *device = gpu ? "gpu" : "cpu";
    if (gpu)
        gpu->destroy(gpu);
    else
        printf("GPU training: skipped: %s\nGPU training: comparing two CPU runs instead\n",
               err.msg);
    test_training(device);
    return check_report(gpu ? "GPU training" : "GPU training (harness on two CPU runs)");
}

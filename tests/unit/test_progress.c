/* test_progress.c: the progress bar, the verbose=2 line and the model
 * summary table against keras-reference.md §2.1 and §2.2. Time is driven
 * through the *_at calls; output goes to a memory stream. */
#include "cli/progress.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <string.h>

#define BOLD "\033[1m"
#define GREEN "\033[32m"
#define WHITE "\033[37m"
#define RESET "\033[0m"
#define BARS_10 "━━━━━━━━━━"

/* Everything written to a memory stream. */
typedef struct capture {
    FILE *f;
    char *text;
    size_t size;
} capture;

static void capture_open(capture *c)
{
    c->text = NULL;
    c->size = 0;
    c->f = open_memstream(&c->text, &c->size);
    if (!c->f) {
        perror("open_memstream");
        exit(1);
    }
}

static const char *captured(capture *c)
{
    fflush(c->f);
    return c->text;
}

static void capture_close(capture *c)
{
    fclose(c->f);
    free(c->text);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int count_of(const char *haystack, const char *needle)
{
    int count = 0;
    for (const char *p = strstr(haystack, needle); p; p = strstr(p + strlen(needle), needle))
        count++;
    return count;
}

static const char *const TRAIN_KEYS[] = {"accuracy", "loss"};
static const char *const EPOCH_KEYS[] = {"accuracy", "loss", "val_accuracy", "val_loss"};

static void test_value_format(void)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0.4353, "0.4353"},       {3.8914e-04, "3.8914e-04"}, {0, "0.0000e+00"},
        {-0.5, "-0.5000"},        {1234.5678, "1234.5678"},   {NAN, "nan"},
        {-NAN, "nan"},            {INFINITY, "inf"},          {-INFINITY, "-inf"},
        {-2e-4, "-2.0000e-04"},   {0.0011, "0.0011"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[64];
        progress_format_value(cases[i].v, buf, sizeof buf);
        CHECK(strcmp(buf, cases[i].want) == 0, "value %g: got %s, want %s", cases[i].v, buf,
              cases[i].want);
    }
}

static void test_epoch_header(void)
{
    capture c;
    capture_open(&c);
    progress p;
    progress_init(&p, c.f, 1);
    progress_epoch_header(&p, 1, 1);
    CHECK(strcmp(captured(&c), "") == 0, "single epoch: got \"%s\"", captured(&c));
    progress_epoch_header(&p, 2, 5);
    CHECK(strcmp(captured(&c), "Epoch 2/5\n") == 0, "got \"%s\"", captured(&c));
    capture_close(&c);
}

/* Not a terminal: running updates print nothing, the epoch ends with Keras's
 * verbose=2 line (keras-reference.md §2.1). */
static void test_plain_epoch_line(void)
{
    capture c;
    capture_open(&c);
    progress p;
    progress_init(&p, c.f, 0);
    progress_start_at(&p, 10.0, 1875);
    const double running[] = {0.95, 0.15};
    for (int step = 1; step <= 1875; step += 100)
        progress_update_at(&p, 10.0 + step * 0.0017, step, TRAIN_KEYS, running, 2);
    CHECK(strcmp(captured(&c), "") == 0, "updates printed \"%s\"", captured(&c));

    const double epoch[] = {0.9561, 0.1487, 0.9662, 0.1101};
    progress_finish_at(&p, 13.25, EPOCH_KEYS, epoch, 4);
    const char *want = "1875/1875 - 3s - 2ms/step - accuracy: 0.9561 - loss: 0.1487"
                       " - val_accuracy: 0.9662 - val_loss: 0.1101\n";
    CHECK(strcmp(captured(&c), want) == 0, "got \"%s\"", captured(&c));
    capture_close(&c);
}

/* A slow first step (5 s) is left out of the per-step time in both modes. */
static void test_first_step_excluded(void)
{
    for (int dynamic = 0; dynamic <= 1; dynamic++) {
        capture c;
        capture_open(&c);
        progress p;
        progress_init(&p, c.f, dynamic);
        progress_start_at(&p, 0, 11);
        const double loss[] = {0.5};
        progress_update_at(&p, 5.0, 1, TRAIN_KEYS + 1, loss, 1);
        progress_finish_at(&p, 5.02, TRAIN_KEYS + 1, loss, 1);
        CHECK(strstr(captured(&c), " 2ms/step - loss: 0.5000"), "dynamic %d: got \"%s\"", dynamic,
              captured(&c));
        capture_close(&c);
    }
}

/* The first frame at 938/1875, byte for byte: int(20 * 938 / 1875) = 10
 * green bars, then 10 white ones. */
static void test_bar_frame(void)
{
    capture c;
    capture_open(&c);
    progress p;
    progress_init(&p, c.f, 1);
    progress_start_at(&p, 0, 1875);
    const double values[] = {0.8461, 0.5303};
    progress_update_at(&p, 2.0, 938, TRAIN_KEYS, values, 2);
    const char *want = "\r" BOLD " 938/1875" RESET " " GREEN BARS_10 RESET WHITE BARS_10 RESET
                       " " BOLD "1s" RESET " 2ms/step - accuracy: 0.8461 - loss: 0.5303";
    CHECK(strcmp(captured(&c), want) == 0, "got \"%s\"", captured(&c));
    CHECK(count_of(captured(&c), "━") == 20, "bar has %d chars", count_of(captured(&c), "━"));
    /* " 938/1875 " + 20 bars + " 1s 2ms/step" + " - accuracy: 0.8461 - loss: 0.5303" */
    CHECK(p.prev_width == 10 + 20 + 12 + 34, "width %d", p.prev_width);
    capture_close(&c);
}

/* Less than one bar's worth: no green segment at all, 20 white bars. */
static void test_bar_empty(void)
{
    capture c;
    capture_open(&c);
    progress p;
    progress_init(&p, c.f, 1);
    progress_start_at(&p, 0, 1875);
    progress_update_at(&p, 0.1, 93, NULL, NULL, 0);
    CHECK(!strstr(captured(&c), GREEN), "green in \"%s\"", captured(&c));
    CHECK(strstr(captured(&c), WHITE BARS_10 BARS_10 RESET), "got \"%s\"", captured(&c));
    capture_close(&c);
}

/* A frame goes back over the previous one and blanks what is left of it. */
static void test_redraw(void)
{
    capture c;
    capture_open(&c);
    progress p;
    progress_init(&p, c.f, 1);
    progress_start_at(&p, 0, 1875);
    const double values[] = {0.8461, 0.5303};
    progress_update_at(&p, 2.0, 938, TRAIN_KEYS, values, 2);
    size_t first_len = strlen(captured(&c));
    int first_width = p.prev_width;

    const double loss[] = {0.5};
    progress_update_at(&p, 2.1, 980, TRAIN_KEYS + 1, loss, 1);
    const char *frame = captured(&c) + first_len;
    int backspaces = (int)strspn(frame, "\b");
    CHECK(backspaces == first_width && frame[backspaces] == '\r', "%d backspaces, want %d",
          backspaces, first_width);
    /* " - accuracy: 0.8461" (19 characters) is gone: 19 spaces cover it. */
    CHECK(ends_with(frame, "- loss: 0.5000                   "), "got \"%s\"", frame);
    CHECK(p.prev_width == first_width - 19, "width %d", p.prev_width);
    capture_close(&c);
}

/* Running updates at most every 0.05 s; the final line always. */
static void test_throttle(void)
{
    capture c;
    capture_open(&c);
    progress p;
    progress_init(&p, c.f, 1);
    progress_start_at(&p, 0, 100);
    progress_update_at(&p, 0.10, 1, NULL, NULL, 0);
    size_t len = strlen(captured(&c));
    CHECK(len > 0, "first update not drawn");
    progress_update_at(&p, 0.11, 2, NULL, NULL, 0);
    CHECK(strlen(captured(&c)) == len, "update 0.01 s after a draw printed");
    progress_update_at(&p, 0.16, 3, NULL, NULL, 0);
    CHECK(strlen(captured(&c)) > len, "update 0.06 s after a draw not drawn");
    len = strlen(captured(&c));
    progress_finish_at(&p, 0.161, NULL, NULL, 0);
    CHECK(strlen(captured(&c)) > len && ends_with(captured(&c), "\n"), "final line not drawn");
    capture_close(&c);
}

/* The final dynamic line: a full green bar, elapsed time, validation keys. */
static void test_final_line(void)
{
    capture c;
    capture_open(&c);
    progress p;
    progress_init(&p, c.f, 1);
    progress_start_at(&p, 100.0, 1875);
    const double running[] = {0.85, 0.53};
    progress_update_at(&p, 100.5, 1, TRAIN_KEYS, running, 2);
    const double epoch[] = {0.8770, 0.4353, 0.9570, 0.1452};
    progress_finish_at(&p, 104.0, EPOCH_KEYS, epoch, 4);
    const char *want = BOLD "1875/1875" RESET " " GREEN BARS_10 BARS_10 RESET WHITE RESET " " BOLD
                       "4s" RESET " 2ms/step - accuracy: 0.8770 - loss: 0.4353"
                       " - val_accuracy: 0.9570 - val_loss: 0.1452\n";
    CHECK(ends_with(captured(&c), want), "got \"%s\"", captured(&c));
    capture_close(&c);
}

/* ETA at 1 s per step and target - 1 steps to go. */
static void test_eta(void)
{
    static const struct {
        int target;
        const char *want;
    } cases[] = {
        {60, BOLD "59s" RESET " 1s/step"},
        {61, BOLD "60s" RESET},              /* thresholds are exclusive */
        {62, BOLD "1:01" RESET},
        {3701, BOLD "1:01:40" RESET},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        capture c;
        capture_open(&c);
        progress p;
        progress_init(&p, c.f, 1);
        progress_start_at(&p, 0, cases[i].target);
        progress_update_at(&p, 1.0, 1, NULL, NULL, 0);
        CHECK(strstr(captured(&c), cases[i].want), "target %d: got \"%s\"", cases[i].target,
              captured(&c));
        capture_close(&c);
    }
}

static void test_step_time(void)
{
    static const struct {
        double first_step;
        const char *want;
    } cases[] = {
        {0.002, " 2ms/step"},
        {0.00025, " 250us/step"},
        {3.0, " 3s/step"},
        {0.0, " 0s/step"},   /* zero is shown in seconds */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        capture c;
        capture_open(&c);
        progress p;
        progress_init(&p, c.f, 1);
        progress_start_at(&p, 0, 1000);
        progress_update_at(&p, cases[i].first_step, 1, NULL, NULL, 0);
        CHECK(ends_with(captured(&c), cases[i].want), "step %g s: got \"%s\"", cases[i].first_step,
              captured(&c));
        capture_close(&c);
    }
}

static void test_clock(void)
{
    double a = progress_now(), b = progress_now();
    CHECK(a > 0 && b >= a, "clock went from %f to %f", a, b);
}

/* keras-reference.md §2.2's example model. */
static const summary_row MLP[] = {
    {"dense", "Dense", "(None, 64)", 50240},
    {"dropout", "Dropout", "(None, 64)", 0},
    {"dense_1", "Dense", "(None, 10)", 650},
};

static char *summary_text(const summary_row *rows, int n, long long trainable,
                          long long optimizer_params, int width)
{
    capture c;
    capture_open(&c);
    summary_print(c.f, "sequential", rows, n, trainable, 0, optimizer_params, width);
    char *text = strdup(captured(&c));
    capture_close(&c);
    return text;
}

static void test_summary_88(void)
{
    const char *want =
        "Model: \"sequential\"\n"
        "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓\n"
        "┃ Layer (type)                         ┃ Output Shape                ┃         Param # ┃\n"
        "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩\n"
        "│ dense (Dense)                        │ (None, 64)                  │          50,240 │\n"
        "├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤\n"
        "│ dropout (Dropout)                    │ (None, 64)                  │               0 │\n"
        "├──────────────────────────────────────┼─────────────────────────────┼─────────────────┤\n"
        "│ dense_1 (Dense)                      │ (None, 10)                  │             650 │\n"
        "└──────────────────────────────────────┴─────────────────────────────┴─────────────────┘\n"
        " Total params: 50,890 (198.79 KB)\n"
        " Trainable params: 50,890 (198.79 KB)\n"
        " Non-trainable params: 0 (0.00 B)\n";
    char *got = summary_text(MLP, 3, 50890, -1, 88);
    CHECK(strcmp(got, want) == 0, "got\n%s", got);
    free(got);
}

/* The same table 76 wide: segments of 33/24/15. */
static void test_summary_76(void)
{
    const char *want =
        "Model: \"sequential\"\n"
        "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓\n"
        "┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃\n"
        "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩\n"
        "│ dense (Dense)                   │ (None, 64)             │        50,240 │\n"
        "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
        "│ dropout (Dropout)               │ (None, 64)             │             0 │\n"
        "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
        "│ dense_1 (Dense)                 │ (None, 10)             │           650 │\n"
        "└─────────────────────────────────┴────────────────────────┴───────────────┘\n";
    char *got = summary_text(MLP, 3, 50890, -1, 76);
    CHECK(strncmp(got, want, strlen(want)) == 0, "got\n%s", got);
    free(got);
}

/* A cell too wide for its column wraps at a space; a single word too wide
 * for any line is cut with an ellipsis. */
static void test_summary_wrap(void)
{
    static const summary_row rows[] = {
        {"transformer_block_feed_forward_dense", "Dense", "(None, 64)", 4160},
        {"a_layer_name_far_too_long_for_one_line", "Dense", "(None, 10)", 650},
    };
    char *got = summary_text(rows, 2, 4810, -1, 88);
    const char *wrapped =
        "│ transformer_block_feed_forward_dense │ (None, 64)                  │           4,160 │\n"
        "│ (Dense)                              │                             │                 │\n"
        "├";
    const char *cut =
        "│ a_layer_name_far_too_long_for_one_l… │ (None, 10)                  │             650 │\n"
        "│ (Dense)                              │                             │                 │\n"
        "└";
    CHECK(strstr(got, wrapped), "no wrapped row in\n%s", got);
    CHECK(strstr(got, cut), "no cut row in\n%s", got);
    free(got);
}

static void test_summary_counts(void)
{
    static const summary_row rows[] = {
        {"big", "Dense", "(None, 1000)", 1234567},
        {"small", "Dense", "(None, 1)", 999},
        {"round", "Dense", "(None, 1)", 1000},
    };
    char *got = summary_text(rows, 3, 1000000, 2000002, 88);
    CHECK(strstr(got, "       1,234,567 │"), "1,234,567 missing in\n%s", got);
    CHECK(strstr(got, "             999 │"), "999 missing in\n%s", got);
    CHECK(strstr(got, "           1,000 │"), "1,000 missing in\n%s", got);
    const char *footer = " Total params: 3,000,002 (11.44 MB)\n"
                         " Trainable params: 1,000,000 (3.81 MB)\n"
                         " Non-trainable params: 0 (0.00 B)\n"
                         " Optimizer params: 2,000,002 (7.63 MB)\n";
    CHECK(ends_with(got, footer), "footer in\n%s", got);
    free(got);

    got = summary_text(rows, 0, 300000000, -1, 88);
    CHECK(strstr(got, " Trainable params: 300,000,000 (1.12 GB)\n"), "GB in\n%s", got);
    free(got);
    got = summary_text(rows, 0, 10, 0, 88);
    CHECK(strstr(got, " Trainable params: 10 (40.00 B)\n"), "B in\n%s", got);
    CHECK(ends_with(got, " Optimizer params: 0 (0.00 B)\n"), "optimizer line in\n%s", got);
    free(got);
}

int main(void)
{
    test_value_format();
    test_epoch_header();
    test_plain_epoch_line();
    test_first_step_excluded();
    test_bar_frame();
    test_bar_empty();
    test_redraw();
    test_throttle();
    test_final_line();
    test_eta();
    test_step_time();
    test_clock();
    test_summary_88();
    test_summary_76();
    test_summary_wrap();
    test_summary_counts();
    return check_report("progress");
}

/* progress.c: Keras 3's progress bar (keras-reference.md §2.1). On a
 * terminal a coloured bar is redrawn in place; otherwise nothing is shown
 * until the epoch ends, which prints Keras's verbose=2 line. */
#include "cli/progress.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

#define BAR_WIDTH 20
#define BAR_CHAR "━"          /* U+2501 */
#define REDRAW_INTERVAL 0.05  /* seconds between running updates */

#define BOLD "\033[1m"
#define GREEN "\033[32m"
#define WHITE "\033[37m"
#define RESET "\033[0m"

double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void progress_format_value(double v, char *buf, size_t n)
{
    if (isnan(v))
        snprintf(buf, n, "nan"); /* Python's spelling, whatever the sign bit */
    else
        snprintf(buf, n, fabs(v) > 1e-3 ? "%.4f" : "%.4e", v);
}

void progress_init(progress *p, FILE *out, int dynamic)
{
    *p = (progress){.out = out, .dynamic = dynamic};
}

void progress_epoch_header(progress *p, int epoch, int epochs)
{
    if (epochs > 1)
        fprintf(p->out, "Epoch %d/%d\n", epoch, epochs);
}

void progress_start_at(progress *p, double now, int target)
{
    p->target = target;
    p->t_start = now;
    p->t_first_step = NAN;
    p->t_last_draw = -INFINITY;
    p->prev_width = 0;
}

/* Seconds per step. Past step 1 the first step (warm-up) is left out, as
 * Keras does, so step 1's end is recorded here whether it is drawn or not. */
static double step_duration(progress *p, double now, int current)
{
    if (current <= 0)
        return 0;
    double per_step = current > 1 && !isnan(p->t_first_step)
                          ? (now - p->t_first_step) / (current - 1)
                          : (now - p->t_start) / current;
    if (current == 1)
        p->t_first_step = now;
    return per_step;
}

static int decimal_digits(int n)
{
    int digits = 1;
    for (; n >= 10; n /= 10)
        digits++;
    return digits;
}

/* " 938/1875": current right-aligned to the width of target. */
static void print_counter(FILE *f, int current, int target)
{
    fprintf(f, "%*d/%d", decimal_digits(target), current, target);
}

/* "59s", "1:01", "1:01:40": Keras's thresholds are exclusive and it
 * truncates to whole seconds. */
static void print_eta(FILE *f, double eta)
{
    long s = (long)eta;
    if (eta > 3600)
        fprintf(f, "%ld:%02ld:%02ld", s / 3600, s % 3600 / 60, s % 60);
    else if (eta > 60)
        fprintf(f, "%ld:%02ld", s / 60, s % 60);
    else
        fprintf(f, "%lds", s);
}

static void print_step_time(FILE *f, double per_step)
{
    if (per_step >= 1 || per_step == 0)
        fprintf(f, "%.0fs/step", per_step);
    else if (per_step >= 1e-3)
        fprintf(f, "%.0fms/step", per_step * 1e3);
    else
        fprintf(f, "%.0fus/step", per_step * 1e6);
}

static void print_metrics(FILE *f, const char *const *keys, const double *values, int n)
{
    char value[DBL_MAX_10_EXP + 16]; /* room for %.4f of DBL_MAX */
    for (int i = 0; i < n; i++) {
        progress_format_value(values[i], value, sizeof value);
        fprintf(f, " - %s: %s", keys[i], value);
    }
}

static void print_repeated(FILE *f, const char *s, int count)
{
    for (int i = 0; i < count; i++)
        fputs(s, f);
}

/* Screen columns of a line: UTF-8 characters, colour codes left out. */
static int display_width(const char *s)
{
    int width = 0;
    for (; *s; s++) {
        if (*s == '\033') {
            while (*s && *s != 'm')
                s++;
            if (!*s)
                break;
        } else if (((unsigned char)*s & 0xC0) != 0x80) {
            width++;
        }
    }
    return width;
}

/* One terminal frame, written in a single call so the redraw does not
 * flicker: back over the previous line, draw this one, blank out what is
 * left of a longer previous line. */
static void draw_bar(progress *p, double now, int current, double per_step, int final,
                     const char *const *keys, const double *values, int n)
{
    char *line = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&line, &size);
    if (!f)
        return; /* the bar is cosmetic: skip this frame */

    int filled = (int)(BAR_WIDTH * ((double)current / p->target));
    fputs(BOLD, f);
    print_counter(f, current, p->target);
    fputs(RESET " ", f);
    if (filled > 0) {
        fputs(GREEN, f);
        print_repeated(f, BAR_CHAR, filled);
        fputs(RESET, f);
    }
    fputs(WHITE, f);
    print_repeated(f, BAR_CHAR, BAR_WIDTH - filled);
    fputs(RESET " " BOLD, f);
    if (final)
        fprintf(f, "%.0fs", now - p->t_start);
    else
        print_eta(f, per_step * (p->target - current));
    fputs(RESET " ", f);
    print_step_time(f, per_step);
    print_metrics(f, keys, values, n);
    fclose(f);

    int width = display_width(line);
    int padding = p->prev_width > width ? p->prev_width - width : 0;
    print_repeated(p->out, "\b", p->prev_width);
    fprintf(p->out, "\r%s%*s%s", line, padding, "", final ? "\n" : "");
    fflush(p->out);
    free(line);
    p->prev_width = width;
}

/* verbose=2: "1875/1875 - 3s - 2ms/step - accuracy: 0.9561 - ..." */
static void print_epoch_line(progress *p, double now, double per_step, const char *const *keys,
                             const double *values, int n)
{
    print_counter(p->out, p->target, p->target);
    fprintf(p->out, " - %.0fs - ", now - p->t_start);
    print_step_time(p->out, per_step);
    print_metrics(p->out, keys, values, n);
    fputc('\n', p->out);
    fflush(p->out);
}

void progress_update_at(progress *p, double now, int current, const char *const *keys,
                        const double *values, int n)
{
    double per_step = step_duration(p, now, current);
    if (!p->dynamic || now - p->t_last_draw < REDRAW_INTERVAL)
        return;
    draw_bar(p, now, current, per_step, 0, keys, values, n);
    p->t_last_draw = now;
}

void progress_finish_at(progress *p, double now, const char *const *keys, const double *values,
                        int n)
{
    double per_step = step_duration(p, now, p->target);
    if (p->dynamic)
        draw_bar(p, now, p->target, per_step, 1, keys, values, n);
    else
        print_epoch_line(p, now, per_step, keys, values, n);
}

void progress_start(progress *p, int target)
{
    progress_start_at(p, progress_now(), target);
}

void progress_update(progress *p, int current, const char *const *keys, const double *values,
                     int n)
{
    progress_update_at(p, progress_now(), current, keys, values, n);
}

void progress_finish(progress *p, const char *const *keys, const double *values, int n)
{
    progress_finish_at(p, progress_now(), keys, values, n);
}

/* summary.c: model.summary() as Keras 3 draws it through rich
 * (keras-reference.md §2.2), without colour: the caller may embolden. */
#include "cli/progress.h"

#include <math.h>
#include <string.h>

#define COLUMNS 3
#define CELL_PADDING 2    /* a space on each side of a cell's text */
#define BYTES_PER_PARAM 4 /* float32 */

static const char *const HEADER[COLUMNS] = {"Layer (type)", "Output Shape", "Param #"};
static const int RIGHT_ALIGNED[COLUMNS] = {0, 0, 1};

/* The pieces of a horizontal rule: left corner, fill, junction, right corner. */
static const char *const RULE_TOP[4] = {"┏", "━", "┳", "┓"};
static const char *const RULE_HEADER[4] = {"┡", "━", "╇", "┩"};
static const char *const RULE_ROW[4] = {"├", "─", "┼", "┤"};
static const char *const RULE_BOTTOM[4] = {"└", "─", "┴", "┘"};

/* Characters between two vertical lines, for a table `width` wide. Keras
 * asks for columns of int(cut * width) minus the previous cut; rich adds a
 * space on each side and then takes the excess over the width (vertical
 * lines included) back evenly, rounding half to even like Python's round:
 * 38/29/17 at 88, 33/24/15 at 76. */
static void segment_widths(int width, int segments[COLUMNS])
{
    static const double cuts[COLUMNS] = {0.45, 0.80, 1.0};
    int previous_cut = 0, total = COLUMNS + 1;
    for (int i = 0; i < COLUMNS; i++) {
        int cut = (int)(cuts[i] * width);
        segments[i] = cut - previous_cut + CELL_PADDING;
        total += segments[i];
        previous_cut = cut;
    }
    int excess = total - width;
    for (int i = 0; i < COLUMNS; i++) {
        int share = (int)nearbyint((double)excess / (COLUMNS - i));
        segments[i] -= share;
        excess -= share;
    }
}

static void print_repeated(FILE *out, const char *s, int count)
{
    for (int i = 0; i < count; i++)
        fputs(s, out);
}

static void print_rule(FILE *out, const char *const pieces[4], const int segments[COLUMNS])
{
    fputs(pieces[0], out);
    for (int i = 0; i < COLUMNS; i++) {
        print_repeated(out, pieces[1], segments[i]);
        fputs(i + 1 < COLUMNS ? pieces[2] : pieces[3], out);
    }
    fputc('\n', out);
}

/* Takes the next line of *text for a cell `width` columns wide and moves
 * *text past it. Like rich: greedy breaks at spaces, and a word too long for
 * any line gets a line of its own. Returns the line's length, which exceeds
 * width only for such a word. */
static int take_line(const char **text, int width)
{
    const char *start = *text, *end = start, *p = start;
    while (*p) {
        const char *word_end = p + strcspn(p, " ");
        if (end > start && word_end - start > width)
            break;
        end = word_end;
        p = word_end + strspn(word_end, " ");
    }
    *text = p;
    return (int)(end - start);
}

/* One line of a cell with its padding; rich cuts an overlong word to
 * width - 1 characters and an ellipsis. */
static void print_cell_line(FILE *out, const char *line, int len, int width, int right_aligned)
{
    int cut = len > width;
    int shown = cut ? width - 1 : len;
    int fill = width - shown - cut;
    fprintf(out, " %*s%.*s%s%*s ", right_aligned ? fill : 0, "", shown, line, cut ? "…" : "",
            right_aligned ? 0 : fill, "");
}

/* A row of cells between `bar`s, as many lines tall as its longest cell. */
static void print_row(FILE *out, const char *const cells[COLUMNS], const int segments[COLUMNS],
                      const char *bar)
{
    const char *rest[COLUMNS];
    memcpy(rest, cells, sizeof rest);
    do {
        for (int i = 0; i < COLUMNS; i++) {
            const char *line = rest[i];
            int width = segments[i] - CELL_PADDING;
            int len = take_line(&rest[i], width);
            fputs(bar, out);
            print_cell_line(out, line, len, width, RIGHT_ALIGNED[i]);
        }
        fputs(bar, out);
        fputc('\n', out);
    } while (*rest[0] || *rest[1] || *rest[2]);
}

/* 1234567 -> "1,234,567" (n >= 0). */
static void format_count(long long n, char buf[32])
{
    char digits[24];
    int len = snprintf(digits, sizeof digits, "%lld", n);
    char *o = buf;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            *o++ = ',';
        *o++ = digits[i];
    }
    *o = '\0';
}

/* Keras's readable_memory_size: 1024-based units, two decimals. */
static void format_size(double bytes, char *buf, size_t size)
{
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
    size_t unit = 0;
    while (bytes >= 1024 && unit + 1 < sizeof units / sizeof *units) {
        bytes /= 1024;
        unit++;
    }
    snprintf(buf, size, "%.2f %s", bytes, units[unit]);
}

static void print_total(FILE *out, const char *label, long long params)
{
    char count[32], bytes[32];
    format_count(params, count);
    format_size((double)params * BYTES_PER_PARAM, bytes, sizeof bytes);
    fprintf(out, " %s params: %s (%s)\n", label, count, bytes);
}

void summary_print(FILE *out, const char *model_name, const summary_row *rows, int n,
                   long long trainable, long long non_trainable, long long optimizer_params,
                   int width)
{
    int segments[COLUMNS];
    segment_widths(width, segments);

    fprintf(out, "Model: \"%s\"\n", model_name);
    print_rule(out, RULE_TOP, segments);
    print_row(out, HEADER, segments, "┃");
    print_rule(out, RULE_HEADER, segments);
    for (int i = 0; i < n; i++) {
        char layer[256], params[32];
        snprintf(layer, sizeof layer, "%s (%s)", rows[i].name, rows[i].class_name);
        format_count(rows[i].params, params);
        const char *cells[COLUMNS] = {layer, rows[i].shape, params};
        if (i > 0)
            print_rule(out, RULE_ROW, segments);
        print_row(out, cells, segments, "│");
    }
    print_rule(out, RULE_BOTTOM, segments);

    /* Keras counts the optimizer's variables into the total once it is built. */
    long long optimizer = optimizer_params > 0 ? optimizer_params : 0;
    print_total(out, "Total", trainable + non_trainable + optimizer);
    print_total(out, "Trainable", trainable);
    print_total(out, "Non-trainable", non_trainable);
    if (optimizer_params >= 0)
        print_total(out, "Optimizer", optimizer_params);
}

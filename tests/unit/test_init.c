/* test_init.c: initializer fans and sample statistics against
 * tests/data/keras/initializers.json (README §13), determinism of the
 * Philox draws, and the initializer / regularizer argument tables. */
#include "engine/init.h"
#include "tests/unit/check.h"

#include <cJSON.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

#define SHAPE_MAX 8

/* The kind's args struct filled the way the config validator does it:
 * every row's default text parsed ("null" is NAN, an ENUM by choice). */
static dl_kind_ref make_ref(const char *name)
{
    dl_kind_ref ref = {0};
    ref.kind = dl_family_find(&init_family, name);
    CHECK(ref.kind != NULL, "initializer '%s' not found", name);
    if (!ref.kind)
        return ref;
    unsigned char *args = calloc(1, ref.kind->args_size);
    for (const dl_arg *row = ref.kind->args; row->key; row++) {
        if (row->type == DL_ARG_FLOAT) {
            double v = strcmp(row->def, "null") ? strtod(row->def, NULL) : NAN;
            memcpy(args + row->offset, &v, sizeof v);
        } else if (row->type == DL_ARG_ENUM) {
            int choice = 0;
            while (row->choices[choice] && strcmp(row->choices[choice], row->def))
                choice++;
            CHECK(row->choices[choice] != NULL, "%s: default of %s is a choice", name, row->key);
            memcpy(args + row->offset, &choice, sizeof choice);
        } else {
            CHECK(0, "%s: unexpected type of argument %s", name, row->key);
        }
    }
    ref.args = args;
    return ref;
}

static const dl_arg *find_row(const dl_kind *kind, const char *key)
{
    for (const dl_arg *row = kind->args; row->key; row++)
        if (!strcmp(row->key, key))
            return row;
    return NULL;
}

static void set_float(dl_kind_ref *ref, const char *key, double v)
{
    const dl_arg *row = find_row(ref->kind, key);
    CHECK(row && row->type == DL_ARG_FLOAT, "%s has no float argument %s", ref->kind->name, key);
    if (row)
        memcpy((unsigned char *)ref->args + row->offset, &v, sizeof v);
}

static void set_enum(dl_kind_ref *ref, const char *key, const char *value)
{
    const dl_arg *row = find_row(ref->kind, key);
    CHECK(row && row->type == DL_ARG_ENUM, "%s has no enum argument %s", ref->kind->name, key);
    if (!row)
        return;
    int choice = 0;
    while (row->choices[choice] && strcmp(row->choices[choice], value))
        choice++;
    CHECK(row->choices[choice] != NULL, "%s is not a choice of %s", value, key);
    memcpy((unsigned char *)ref->args + row->offset, &choice, sizeof choice);
}

typedef struct stats {
    double min, max, mean, std;
    size_t beyond;      /* values with |v - mean| > 2 * std */
    double lag1;        /* correlation of neighbours: ~0 for independent draws */
} stats;

static stats stats_of(const float *v, size_t n)
{
    stats s = {v[0], v[0], 0, 0, 0, 0};
    double sum = 0, sum_sq = 0;
    for (size_t i = 0; i < n; i++) {
        s.min = fmin(s.min, v[i]);
        s.max = fmax(s.max, v[i]);
        sum += v[i];
    }
    s.mean = sum / (double)n;
    for (size_t i = 0; i < n; i++)
        sum_sq += (v[i] - s.mean) * (v[i] - s.mean);
    s.std = sqrt(sum_sq / (double)n);
    double cross = 0;
    for (size_t i = 1; i < n; i++)
        cross += (v[i - 1] - s.mean) * (v[i] - s.mean);
    s.lag1 = sum_sq > 0 ? cross / sum_sq : 0;
    for (size_t i = 0; i < n; i++)
        s.beyond += fabs(v[i] - s.mean) > 2.0 * s.std;
    return s;
}

/* Draws ref for shape and returns the statistics (seed 42, stream 3). */
static stats draw(const dl_kind_ref *ref, const int *shape, int ndim, size_t *count)
{
    size_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= (size_t)shape[d];
    float *w = malloc(n * sizeof *w); /* [prod(shape)] */
    init_fill(ref, shape, ndim, 42, 3, w);
    stats s = stats_of(w, n);
    free(w);
    *count = n;
    return s;
}

/* README §13: bounds, mean within 5 standard errors, std within 3%. */
static void check_stats(const char *label, stats s, size_t n, double lo, double hi,
                        double want_mean, double want_std)
{
    /* The bounds are doubles; a float sample may round past them by an ulp. */
    CHECK(isnan(lo) || s.min >= lo - 1e-6 * fabs(lo), "%s: min %g < %g", label, s.min, lo);
    CHECK(isnan(hi) || s.max <= hi + 1e-6 * fabs(hi), "%s: max %g > %g", label, s.max, hi);
    CHECK(isnan(hi) || s.max >= hi - 0.05 * (hi - lo) / 2, "%s: max %g far below %g", label,
          s.max, hi);
    CHECK(fabs(s.mean - want_mean) <= 5.0 * want_std / sqrt((double)n), "%s: mean %g, want %g",
          label, s.mean, want_mean);
    CHECK(fabs(s.std / want_std - 1.0) <= 0.03, "%s: std %g, want %g", label, s.std, want_std);
    CHECK(fabs(s.lag1) <= 5.0 / sqrt((double)n), "%s: neighbours correlate (%g)", label, s.lag1);
}

static cJSON *load_json(const char *path)
{
    FILE *fp = fopen(path, "rb");
    CHECK(fp != NULL, "cannot open %s", path);
    if (!fp)
        return NULL;
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = '\0';
    cJSON *root = cJSON_Parse(text);
    CHECK(root != NULL, "%s is not JSON", path);
    return root;
}

static int json_shape(const cJSON *arr, int *shape)
{
    int ndim = 0;
    for (const cJSON *d = arr->child; d && ndim < SHAPE_MAX; d = d->next)
        shape[ndim++] = d->valueint;
    return ndim;
}

static double json_number_or_nan(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void test_reference_cases(void)
{
    cJSON *root = load_json("tests/data/keras/initializers.json");
    if (!root)
        return;
    int nfans = 0, ncases = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(root, "fans")) {
        int shape[SHAPE_MAX];
        int ndim = json_shape(cJSON_GetObjectItemCaseSensitive(row, "shape"), shape);
        double fan_in = -1, fan_out = -1;
        init_fans(shape, ndim, &fan_in, &fan_out);
        CHECK(fan_in == json_number_or_nan(row, "fan_in") &&
              fan_out == json_number_or_nan(row, "fan_out"), "fans of %s: %g %g",
              cJSON_GetObjectItemCaseSensitive(row, "name")->valuestring, fan_in, fan_out);
        nfans++;
    }
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
        const char *label = cJSON_GetObjectItemCaseSensitive(row, "name")->valuestring;
        const char *dist = cJSON_GetObjectItemCaseSensitive(row, "distribution")->valuestring;
        /* Orthogonal is not implemented (no recurrent layers). */
        if (!strcmp(dist, "orthogonal"))
            continue;
        dl_kind_ref ref =
            make_ref(cJSON_GetObjectItemCaseSensitive(row, "initializer")->valuestring);
        if (!ref.kind)
            continue;
        int shape[SHAPE_MAX];
        int ndim = json_shape(cJSON_GetObjectItemCaseSensitive(row, "shape"), shape);
        size_t n;
        stats s = draw(&ref, shape, ndim, &n);
        double want_std = json_number_or_nan(row, "expected_std");
        if (want_std == 0.0) {
            double value = json_number_or_nan(row, "value");
            CHECK(s.min == value && s.max == value, "%s: not all %g", label, value);
        } else {
            check_stats(label, s, n, json_number_or_nan(row, "min"),
                        json_number_or_nan(row, "max"), json_number_or_nan(row, "expected_mean"),
                        want_std);
        }
        free(ref.args);
        ncases++;
    }
    CHECK(nfans == 4 && ncases == 24, "read %d fan rows and %d cases", nfans, ncases);
    cJSON_Delete(root);
}

static void test_other_fans(void)
{
    double fan_in, fan_out;
    init_fans(NULL, 0, &fan_in, &fan_out);
    CHECK(fan_in == 1 && fan_out == 1, "scalar fans %g %g", fan_in, fan_out);
    const int conv3d[5] = {2, 3, 4, 5, 6};
    init_fans(conv3d, 5, &fan_in, &fan_out);
    CHECK(fan_in == 120 && fan_out == 144, "rank-5 fans %g %g", fan_in, fan_out);
}

static void test_arguments_change_the_draw(void)
{
    const int dense[2] = {784, 256};
    size_t n;
    dl_kind_ref vs = make_ref("VarianceScaling");
    set_float(&vs, "scale", 2.0);
    set_enum(&vs, "mode", "fan_out");
    set_enum(&vs, "distribution", "uniform");
    double limit = sqrt(3.0 * 2.0 / 256);
    stats s = draw(&vs, dense, 2, &n);
    check_stats("VarianceScaling(2, fan_out, uniform)", s, n, -limit, limit, 0.0,
                limit / sqrt(3.0));

    set_float(&vs, "scale", 1.0);
    set_enum(&vs, "mode", "fan_avg");
    set_enum(&vs, "distribution", "untruncated_normal");
    s = draw(&vs, dense, 2, &n);
    check_stats("VarianceScaling(1, fan_avg, untruncated)", s, n, NAN, NAN, 0.0,
                sqrt(1.0 / 520));
    /* Untruncated: about 4.6% of a normal lies beyond two std. */
    CHECK(s.beyond > n * 35 / 1000 && s.beyond < n * 56 / 1000, "untruncated tails: %zu of %zu",
          s.beyond, n);
    free(vs.args);

    dl_kind_ref c = make_ref("constant");
    set_float(&c, "value", 3.5);
    s = draw(&c, dense, 2, &n);
    CHECK(s.min == 3.5 && s.max == 3.5, "constant 3.5: %g..%g", s.min, s.max);
    free(c.args);

    dl_kind_ref u = make_ref("uniform");
    set_float(&u, "minval", 1.0);
    set_float(&u, "maxval", 3.0);
    s = draw(&u, dense, 2, &n);
    check_stats("RandomUniform(1, 3)", s, n, 1.0, 3.0, 2.0, 2.0 / sqrt(12.0));
    free(u.args);

    dl_kind_ref rn = make_ref("normal");
    set_float(&rn, "mean", 5.0);
    set_float(&rn, "stddev", 2.0);
    s = draw(&rn, dense, 2, &n);
    check_stats("RandomNormal(5, 2)", s, n, NAN, NAN, 5.0, 2.0);
    free(rn.args);

    dl_kind_ref tn = make_ref("TruncatedNormal");
    set_float(&tn, "mean", -1.0);
    set_float(&tn, "stddev", 0.5);
    s = draw(&tn, dense, 2, &n);
    check_stats("TruncatedNormal(-1, 0.5)", s, n, -2.0, 0.0, -1.0, 0.5 * 0.87962566103423978);
    free(tn.args);

    /* A scalar weight: fans 1, glorot limit sqrt(3). */
    dl_kind_ref g = make_ref("glorot_uniform");
    s = draw(&g, NULL, 0, &n);
    CHECK(n == 1 && fabs(s.min) <= sqrt(3.0), "scalar glorot %g", s.min);
    free(g.args);
}

static int count_differences(const float *a, const float *b, size_t n)
{
    int diff = 0;
    for (size_t i = 0; i < n; i++)
        diff += a[i] != b[i];
    return diff;
}

static void test_determinism(void)
{
    enum { N = 7 * 9 };
    const int shape[2] = {7, 9};
    static const char *const kinds[] = {"glorot_uniform", "he_normal", "random_normal",
                                        "random_uniform", "truncated_normal",
                                        "variance_scaling"};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        float a[N], b[N], c[N], d[N];
        dl_kind_ref ref = make_ref(kinds[k]);
        init_fill(&ref, shape, 2, 1, 2, a);
        init_fill(&ref, shape, 2, 1, 2, b);
        CHECK(!memcmp(a, b, sizeof a), "%s: same seed and stream differ", kinds[k]);
        init_fill(&ref, shape, 2, 1, 3, c);
        CHECK(count_differences(a, c, N) > N / 2, "%s: another stream repeats", kinds[k]);
        init_fill(&ref, shape, 2, 2, 2, c);
        CHECK(count_differences(a, c, N) > N / 2, "%s: another seed repeats", kinds[k]);

        /* The initializer's own seed replaces the caller's as the key. */
        init_fill(&ref, shape, 2, 7, 2, c);
        set_float(&ref, "seed", 7);
        init_fill(&ref, shape, 2, 1, 2, b);
        init_fill(&ref, shape, 2, 99, 2, d);
        CHECK(!memcmp(b, c, sizeof b) && !memcmp(b, d, sizeof b), "%s: seed argument ignored",
              kinds[k]);
        CHECK(count_differences(a, b, N) > N / 2, "%s: seed argument had no effect", kinds[k]);
        free(ref.args);
    }
}

static void test_initializer_table(void)
{
    static const char *const names[][3] = {
        {"GlorotUniform", "glorot_uniform", NULL}, {"GlorotNormal", "glorot_normal", NULL},
        {"HeUniform", "he_uniform", NULL},         {"HeNormal", "he_normal", NULL},
        {"LecunUniform", "lecun_uniform", NULL},   {"LecunNormal", "lecun_normal", NULL},
        {"Zeros", "zeros", "zero"},                {"Ones", "ones", "one"},
        {"Constant", "constant", NULL},            {"RandomUniform", "random_uniform", "uniform"},
        {"RandomNormal", "random_normal", "normal"},
        {"TruncatedNormal", "truncated_normal", NULL},
        {"VarianceScaling", "variance_scaling", NULL},
    };
    enum { NKINDS = sizeof names / sizeof names[0] };
    CHECK(!strcmp(init_family.what, "initializer") && init_family.n == NKINDS &&
              init_family.number_kind == NULL, "initializer family");
    for (int i = 0; i < NKINDS; i++) {
        const dl_kind *k = dl_family_find(&init_family, names[i][0]);
        CHECK(k && dl_family_find(&init_family, names[i][1]) == k &&
                  (!names[i][2] || dl_family_find(&init_family, names[i][2]) == k),
              "%s and its aliases", names[i][0]);
        if (!k)
            continue;
        /* Every kind that draws has Keras's nullable seed; constants have none. */
        const dl_arg *seed = find_row(k, "seed");
        int draws = i < 6 || i > 8;
        CHECK(draws ? seed && seed->type == DL_ARG_FLOAT && !strcmp(seed->def, "null") &&
                          (seed->flags & DL_ARG_NULLABLE)
                    : seed == NULL, "%s: seed row", names[i][0]);
    }
    const dl_kind *constant = dl_family_find(&init_family, "Constant");
    const dl_kind *uniform = dl_family_find(&init_family, "RandomUniform");
    const dl_kind *normal = dl_family_find(&init_family, "TruncatedNormal");
    const dl_kind *vs = dl_family_find(&init_family, "VarianceScaling");
    CHECK(!strcmp(find_row(constant, "value")->def, "0.0"), "Constant value default");
    CHECK(!strcmp(find_row(uniform, "minval")->def, "-0.05") &&
              !strcmp(find_row(uniform, "maxval")->def, "0.05"), "RandomUniform defaults");
    CHECK(!strcmp(find_row(normal, "mean")->def, "0.0") &&
              !strcmp(find_row(normal, "stddev")->def, "0.05"), "TruncatedNormal defaults");
    const dl_arg *scale = find_row(vs, "scale");
    CHECK(!strcmp(scale->def, "1.0") && scale->min == 0 && scale->max > 1 &&
              (scale->flags & DL_ARG_MIN_OPEN), "scale > 0");
    CHECK(!strcmp(find_row(vs, "mode")->def, "fan_in") &&
              !strcmp(find_row(vs, "distribution")->def, "truncated_normal"),
          "VarianceScaling defaults");

    char why[128] = "";
    dl_kind_ref ref = make_ref("random_uniform");
    CHECK(uniform->check(ref.args, why, sizeof why) == DL_OK, "defaults pass: %s", why);
    set_float(&ref, "seed", 1.5);
    CHECK(uniform->check(ref.args, why, sizeof why) == DL_ERR && strstr(why, "seed"),
          "fractional seed: %s", why);
    set_float(&ref, "seed", 3);
    set_float(&ref, "maxval", -0.1);
    CHECK(uniform->check(ref.args, why, sizeof why) == DL_ERR && strstr(why, "maxval"),
          "maxval < minval: %s", why);
    free(ref.args);
    ref = make_ref("glorot_normal");
    set_float(&ref, "seed", 2.25);
    CHECK(ref.kind->check(ref.args, why, sizeof why) == DL_ERR, "glorot fractional seed");
    free(ref.args);
}

static void test_regularizer_table(void)
{
    CHECK(!strcmp(reg_family.what, "regularizer") && reg_family.n == 3 &&
              reg_family.number_kind == NULL, "regularizer family");
    static const struct {
        const char *name, *alias;
        const char *l1_def, *l2_def; /* NULL: no such argument */
    } want[3] = {{"L1", "l1", "0.01", NULL}, {"L2", "l2", NULL, "0.01"},
                 {"L1L2", "l1_l2", "0.0", "0.0"}};
    for (int i = 0; i < 3; i++) {
        const dl_kind *k = dl_family_find(&reg_family, want[i].name);
        CHECK(k && dl_family_find(&reg_family, want[i].alias) == k &&
                  k->args_size == sizeof(reg_args), "%s", want[i].name);
        if (!k)
            continue;
        const dl_arg *l1 = find_row(k, "l1"), *l2 = find_row(k, "l2");
        CHECK(want[i].l1_def ? l1 && !strcmp(l1->def, want[i].l1_def) &&
                                   l1->offset == offsetof(reg_args, l1)
                             : l1 == NULL, "%s: l1 row", want[i].name);
        CHECK(want[i].l2_def ? l2 && !strcmp(l2->def, want[i].l2_def) &&
                                   l2->offset == offsetof(reg_args, l2)
                             : l2 == NULL, "%s: l2 row", want[i].name);
        for (const dl_arg *row = k->args; row->key; row++)
            CHECK(row->type == DL_ARG_FLOAT && row->min == 0 && row->max > 1 &&
                      !(row->flags & DL_ARG_MIN_OPEN), "%s: %s must be >= 0", want[i].name,
                  row->key);
    }
}

int main(void)
{
    test_reference_cases();
    test_other_fans();
    test_arguments_change_the_draw();
    test_determinism();
    test_initializer_table();
    test_regularizer_table();
    return check_report("init");
}

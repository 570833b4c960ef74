/* test_optimizers.c: every optimizers.json trajectory through optim_init +
 * optim_apply on the CPU backend (weights, slots, clipped gradients, Nadam's
 * u_product and the learning rate of each step), every schedules.json case
 * through sched_value, the argument tables' Keras defaults and the check()
 * functions. */
#include "engine/optimizer.h"
#include "engine/schedule.h"
#include "tests/unit/testdata.h"

#include <string.h>

#define WEIGHT_RTOL 1e-5
#define WEIGHT_ATOL 1e-6
#define SLOT_RTOL 1e-5
#define SLOT_ATOL 1e-9

/* A number of a config, 0 when absent (NAN is kept for explicit nulls by
 * the callers that need it). */
static double config_number(const cJSON *config, const char *key)
{
    double v = td_number(config, key);
    return isnan(v) ? 0.0 : v;
}

/* A JSON list of numbers as the validator stores a FLOATS argument. */
static dl_floats config_floats(const cJSON *config, const char *key)
{
    const cJSON *list = td_get(config, key), *item;
    dl_floats f = {0, NULL};
    f.v = malloc(sizeof(double) * (size_t)(cJSON_GetArraySize(list) + 1));
    cJSON_ArrayForEach(item, list)
        f.v[f.n++] = item->valuedouble;
    return f;
}

/* A schedule as the validator would build it from a config with Keras's
 * keys ("class" names the kind); defaults for the keys a case leaves out. */
static int schedule_from_config(const cJSON *config, sched_args *a, dl_kind_ref *ref)
{
    const cJSON *cls = td_get(config, "class");
    memset(a, 0, sizeof *a);
    memset(ref, 0, sizeof *ref);
    ref->kind = cJSON_IsString(cls) ? dl_family_find(&sched_family, cls->valuestring) : NULL;
    ref->args = a;
    a->initial_learning_rate = config_number(config, "initial_learning_rate");
    a->decay_steps = (int)config_number(config, "decay_steps");
    a->decay_rate = config_number(config, "decay_rate");
    a->staircase = cJSON_IsTrue(td_get(config, "staircase"));
    a->boundaries = config_floats(config, "boundaries");
    a->values = config_floats(config, "values");
    a->end_learning_rate = config_number(config, "end_learning_rate");
    a->power = config_number(config, "power");
    a->cycle = cJSON_IsTrue(td_get(config, "cycle"));
    a->alpha = config_number(config, "alpha");
    a->warmup_target = td_number(config, "warmup_target");
    a->warmup_steps = (int)config_number(config, "warmup_steps");
    a->first_decay_steps = (int)config_number(config, "first_decay_steps");
    a->t_mul = config_number(config, "t_mul");
    a->m_mul = config_number(config, "m_mul");
    return ref->kind ? 0 : -1;
}

static void schedule_free(sched_args *a)
{
    free(a->boundaries.v);
    free(a->values.v);
}

static void test_schedules(void)
{
    cJSON *root = td_load("schedules.json");
    const cJSON *c;
    int ncases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
        const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
        sched_args a;
        dl_kind_ref ref;
        td_tensor values = {0};
        const cJSON *steps = td_get(c, "steps"), *step;
        int ok = !schedule_from_config(td_get(c, "config"), &a, &ref) &&
                 !td_tensor_read(td_get(c, "values"), &values) &&
                 (size_t)cJSON_GetArraySize(steps) == values.size;
        CHECK(ok, "schedules.json: case %s unreadable", name);
        if (ok) {
            float *got = malloc(values.size * sizeof(float));
            size_t i = 0;
            cJSON_ArrayForEach(step, steps)
                got[i++] = (float)sched_value(&ref, (int64_t)step->valuedouble);
            CHECK_TENSOR(got, values.data, values.size, 1e-5, 1e-6, "schedule %s", name);
            CHECK(!sched_is_constant(&ref), "schedule %s reported as constant", name);
            free(got);
        }
        ncases++;
        schedule_free(&a);
        td_tensor_free(&values);
    }
    CHECK(ncases == 13, "schedules.json: %d cases, expected 13", ncases);
    cJSON_Delete(root);

    sched_args constant = {.value = 0.25};
    dl_kind_ref ref = {.kind = sched_family.number_kind, .args = &constant};
    CHECK(sched_is_constant(&ref) && sched_value(&ref, 1000) == 0.25,
          "a bare number must be a constant schedule");
    CHECK(!strcmp(sched_family.number_kind->args[0].key, "value"),
          "the constant's first argument must receive the number");
}

/* Index of a Keras slot name in dl_opt_nslots order; -1 if unknown. */
static int slot_index(int op, const char *name)
{
    static const char *const names[DL_OPT_COUNT][3] = {
        [DL_OPT_SGD] = {"momentum"},
        [DL_OPT_ADAM] = {"momentum", "velocity", "velocity_hat"},
        [DL_OPT_RMSPROP] = {"velocity", "momentum", "average_gradient"},
        [DL_OPT_ADAGRAD] = {"accumulator"},
        [DL_OPT_ADAMAX] = {"momentum", "norm"},
        [DL_OPT_NADAM] = {"momentum", "velocity"},
    };
    for (int j = 0; j < 3; j++)
        if (names[op][j] && !strcmp(names[op][j], name))
            return j;
    return -1;
}

/* The two variables of every case, laid out in one slab of 9. */
enum { KERNEL_N = 6, BIAS_N = 3, SLAB_N = KERNEL_N + BIAS_N };
static const char *const var_names[2] = {"kernel", "bias"};

/* Copies the tensors {kernel, bias} at path into slab [9]. */
static int read_pair(const cJSON *step, const char *path, float *slab)
{
    char key[64];
    int ok = 1;
    for (int v = 0; v < 2; v++) {
        td_tensor t = {0};
        snprintf(key, sizeof key, "%s.%s", path, var_names[v]);
        ok &= !td_tensor_read(td_get(step, key), &t) && t.size == (v ? BIAS_N : KERNEL_N);
        if (t.data && ok)
            memcpy(slab + (v ? KERNEL_N : 0), t.data, t.size * sizeof(float));
        td_tensor_free(&t);
    }
    return ok ? 0 : -1;
}

/* Slot values after a step against steps[i].slots.<var>.<slot name>. */
static void check_slots(const char *name, int step_no, const optimizer *o, const cJSON *slots)
{
    for (int v = 0; v < 2; v++) {
        const cJSON *slot;
        size_t offset = v ? KERNEL_N : 0;
        cJSON_ArrayForEach(slot, cJSON_GetObjectItemCaseSensitive(slots, var_names[v])) {
            int j = slot_index(o->op, slot->string);
            td_tensor want = {0};
            CHECK(j >= 0 && j < o->nslots && !td_tensor_read(slot, &want),
                  "%s: unknown slot %s", name, slot->string);
            if (want.data && j >= 0)
                CHECK_TENSOR(o->slots + (size_t)j * SLAB_N + offset, want.data, want.size,
                             SLOT_RTOL, SLOT_ATOL, "%s step %d: %s %s", name, step_no,
                             var_names[v], slot->string);
            td_tensor_free(&want);
        }
    }
}

/* One optimizers.json case: three steps from the initial weights. */
static void run_optimizer_case(dl_backend *be, const cJSON *c)
{
    const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
    const cJSON *config = td_get(c, "config"), *schedule = td_get(config, "learning_rate_schedule");
    const cJSON *opt_name = td_get(config, "optimizer");
    opt_args a = {0};
    sched_args lr_args = {0};
    if (schedule) {
        schedule_from_config(schedule, &lr_args, &a.learning_rate);
    } else {
        lr_args.value = td_number(config, "learning_rate");
        a.learning_rate = (dl_kind_ref){.kind = sched_family.number_kind, .args = &lr_args};
    }
    a.beta_1 = config_number(config, "beta_1");
    a.beta_2 = config_number(config, "beta_2");
    a.epsilon = config_number(config, "epsilon");
    a.rho = config_number(config, "rho");
    a.momentum = config_number(config, "momentum");
    a.initial_accumulator_value = config_number(config, "initial_accumulator_value");
    a.nesterov = cJSON_IsTrue(td_get(config, "nesterov"));
    a.amsgrad = cJSON_IsTrue(td_get(config, "amsgrad"));
    a.centered = cJSON_IsTrue(td_get(config, "centered"));
    a.weight_decay = td_number(config, "weight_decay");
    a.clipnorm = td_number(config, "clipnorm");
    a.clipvalue = td_number(config, "clipvalue");
    a.global_clipnorm = td_number(config, "global_clipnorm");

    dl_kind_ref spec = {0};
    spec.kind = cJSON_IsString(opt_name) ? dl_family_find(&opt_family, opt_name->valuestring)
                                         : NULL;
    spec.args = &a;
    optimizer o;
    dl_err err;
    float *w = be->alloc(be, SLAB_N), *g = be->alloc(be, SLAB_N); /* [9] */
    int ok = spec.kind && optim_init(&o, &spec, be, SLAB_N, &err) == DL_OK &&
             !read_pair(c, "initial", w);
    CHECK(ok, "%s: cannot set up the optimizer", name);
    if (ok) {
        opt_var vars[2] = {{w, g, KERNEL_N, 0}, {w + KERNEL_N, g + KERNEL_N, BIAS_N, KERNEL_N}};
        float want[SLAB_N];
        const cJSON *step;
        cJSON_ArrayForEach(step, td_get(c, "steps")) {
            int n = (int)td_number(step, "step");
            double lr = optim_learning_rate(&o), want_lr = td_number(step, "learning_rate");
            CHECK(o.iterations == (int64_t)td_number(step, "iterations_before"),
                  "%s step %d: iterations %lld", name, n, (long long)o.iterations);
            CHECK_CLOSE(lr, want_lr, 1e-9, 0.0, "%s step %d: lr %g, want %g", name, n, lr,
                        want_lr);
            CHECK(!read_pair(step, "grads", g), "%s step %d: no grads", name, n);
            optim_apply(&o, vars, 2);
            if (td_get(step, "clipped_grads") && !read_pair(step, "clipped_grads", want))
                CHECK_TENSOR(g, want, SLAB_N, WEIGHT_RTOL, WEIGHT_ATOL,
                             "%s step %d: clipped grads", name, n);
            if (!read_pair(step, "weights", want))
                CHECK_TENSOR(w, want, SLAB_N, WEIGHT_RTOL, WEIGHT_ATOL, "%s step %d: weights",
                             name, n);
            check_slots(name, n, &o, td_get(step, "slots"));
            double u = td_number(step, "u_product");
            if (!isnan(u))
                CHECK_CLOSE(o.nadam_u_product, u, 1e-6, 0.0, "%s step %d: u_product %.9g",
                            name, n, o.nadam_u_product);
        }
        CHECK(o.iterations == 3, "%s: %lld iterations after 3 steps", name,
              (long long)o.iterations);
        o.lr_override = 0.125;
        CHECK(optim_learning_rate(&o) == 0.125, "%s: lr_override ignored", name);
        optim_free(&o);
    }
    be->release(be, w);
    be->release(be, g);
    schedule_free(&lr_args);
}

static void test_optimizer_cases(dl_backend *be)
{
    cJSON *root = td_load("optimizers.json");
    const cJSON *c;
    int ncases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases")) {
        run_optimizer_case(be, c);
        ncases++;
    }
    CHECK(ncases == 19, "optimizers.json: %d cases, expected 19", ncases);
    cJSON_Delete(root);
}

/* The default (YAML text) of key in a kind's table; NULL if absent. */
static const char *arg_default(const dl_kind *k, const char *key)
{
    for (const dl_arg *row = k->args; row->key; row++)
        if (!strcmp(row->key, key))
            return row->def ? row->def : "(required)";
    return NULL;
}

static void test_defaults(void)
{
    static const struct {
        const char *name, *lr, *weight_decay;
    } want[] = {
        {"sgd", "0.01", "null"},      {"adam", "0.001", "null"},    {"adamw", "0.001", "0.004"},
        {"rmsprop", "0.001", "null"}, {"adagrad", "0.001", "null"}, {"adamax", "0.001", "null"},
        {"nadam", "0.001", "null"},
    };
    CHECK(opt_family.n == 7, "%d optimizers, want 7", opt_family.n);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const dl_kind *k = dl_family_find(&opt_family, want[i].name);
        CHECK(k != NULL, "optimizer %s not found", want[i].name);
        if (!k)
            continue;
        const char *lr = arg_default(k, "learning_rate"), *wd = arg_default(k, "weight_decay");
        CHECK(lr && !strcmp(lr, want[i].lr), "%s: learning_rate default %s, want %s", k->name,
              lr ? lr : "none", want[i].lr);
        CHECK(wd && !strcmp(wd, want[i].weight_decay), "%s: weight_decay default %s, want %s",
              k->name, wd ? wd : "none", want[i].weight_decay);
        CHECK(k->args[0].type == DL_ARG_KIND && k->args[0].family == &sched_family,
              "%s: learning_rate must be a schedule", k->name);
    }
    const dl_kind *rmsprop = dl_family_find(&opt_family, "RMSprop");
    const dl_kind *adagrad = dl_family_find(&opt_family, "Adagrad");
    CHECK(rmsprop && !strcmp(arg_default(rmsprop, "rho"), "0.9"), "RMSprop rho default");
    CHECK(adagrad && !strcmp(arg_default(adagrad, "initial_accumulator_value"), "0.1"),
          "Adagrad initial_accumulator_value default");
}

static void test_checks(void)
{
    const dl_kind *sgd = dl_family_find(&opt_family, "SGD");
    opt_args a = {.weight_decay = NAN, .clipnorm = NAN, .clipvalue = NAN,
                  .global_clipnorm = NAN};
    char why[256] = "";
    CHECK(sgd->check(&a, why, sizeof why) == DL_OK, "no clipping rejected: %s", why);
    a.clipnorm = 1.0;
    CHECK(sgd->check(&a, why, sizeof why) == DL_OK, "clipnorm alone rejected: %s", why);
    a.clipvalue = 0.5;
    CHECK(sgd->check(&a, why, sizeof why) == DL_ERR && strstr(why, "clipnorm") &&
              strstr(why, "clipvalue"),
          "clipnorm + clipvalue accepted or unexplained: %s", why);
    a.global_clipnorm = 2.0;
    CHECK(sgd->check(&a, why, sizeof why) == DL_ERR && strstr(why, "global_clipnorm"),
          "three clip options accepted or unexplained: %s", why);

    const dl_kind *piecewise = dl_family_find(&sched_family, "PiecewiseConstantDecay");
    double b_up[2] = {10, 100}, b_down[2] = {100, 10}, v3[3] = {1, 0.5, 0.1};
    sched_args s = {0};
    s.boundaries = (dl_floats){2, b_up};
    s.values = (dl_floats){3, v3};
    CHECK(piecewise->check(&s, why, sizeof why) == DL_OK, "valid piecewise rejected: %s", why);
    s.values.n = 2;
    CHECK(piecewise->check(&s, why, sizeof why) == DL_ERR, "2 boundaries with 2 values accepted");
    s.values.n = 3;
    s.boundaries.v = b_down;
    CHECK(piecewise->check(&s, why, sizeof why) == DL_ERR, "decreasing boundaries accepted");
}

int main(void)
{
    dl_err err;
    dl_backend *be = be_cpu_create(1, &err);
    if (!be) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    test_schedules();
    test_optimizer_cases(be);
    test_defaults();
    test_checks();
    be->destroy(be);
    return check_report("optimizers");
}

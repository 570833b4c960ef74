/* sweep_spec.c: what a sweep varies. Dimensions come from the config's
 * `sweep:` section and from --grid/--random flags (a flag replaces the
 * section's entry for the same path); both end up as the flag text
 * "PATH=[v, ...]" or "PATH=dist(args)", which sweep.json keeps and
 * --resume parses again. Then the trials: the grid's product times the
 * random draws, each with its overrides and a directory name. */
#include "cli/sweep.h"

#include "configs/suggest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const dist_names[] = {"choice", "uniform", "loguniform", "int"};
static const sweep_dist dist_kinds[] = {SWEEP_CHOICE, SWEEP_UNIFORM, SWEEP_LOGUNIFORM, SWEEP_INT};
#define NDISTS 4

/* ---- values as one line of flow YAML ------------------------------------ */

typedef struct text_buf {
    char *s;
    size_t len, cap;
} text_buf;

static void put(text_buf *b, const char *s)
{
    for (; *s && b->len + 1 < b->cap; s++)
        b->s[b->len++] = *s;
    b->s[b->len] = '\0';
}

/* A scalar that would read back differently in flow context (or was
 * quoted) is written double-quoted. */
static void put_scalar(text_buf *b, const cfg_node *n)
{
    if (n->plain && !strpbrk(n->value, ",[]{}#\"'\n") && !strstr(n->value, ": ")) {
        put(b, n->value);
        return;
    }
    put(b, "\"");
    for (const char *p = n->value; *p; p++) {
        char esc[8] = {*p, '\0'};
        if (*p == '"' || *p == '\\')
            snprintf(esc, sizeof esc, "\\%c", *p);
        else if (*p == '\n')
            snprintf(esc, sizeof esc, "\\n");
        put(b, esc);
    }
    put(b, "\"");
}

static void put_node(text_buf *b, const cfg_node *n)
{
    if (n->type == CFG_SCALAR) {
        put_scalar(b, n);
        return;
    }
    put(b, n->type == CFG_SEQ ? "[" : "{");
    for (int i = 0; i < n->n; i++) {
        if (i)
            put(b, ", ");
        if (n->type == CFG_MAP) {
            put_scalar(b, n->keys[i]);
            put(b, ": ");
        }
        put_node(b, n->items[i]);
    }
    put(b, n->type == CFG_SEQ ? "]" : "}");
}

/* The node's flow text in the arena; NULL when longer than SWEEP_MAX_VALUE
 * (or out of memory, which err says). */
static char *flow_text(cfg_arena *arena, const cfg_node *n, const char *where, dl_err *err)
{
    char buf[SWEEP_MAX_VALUE + 2];
    text_buf b = {buf, 0, sizeof buf};
    buf[0] = '\0';
    put_node(&b, n);
    if (b.len > SWEEP_MAX_VALUE) {
        dl_fail(err, DL_EXIT_USAGE, "%s: a value longer than %d characters", where,
                SWEEP_MAX_VALUE);
        return NULL;
    }
    char *text = cfg_arena_strdup(arena, buf);
    if (!text)
        dl_fail(err, DL_EXIT_FAIL, "out of memory");
    return text;
}

/* ---- dimensions ------------------------------------------------------------ */

static int parse_number(const cfg_node *n, double *v)
{
    char *end;
    if (n->type != CFG_SCALAR || !n->plain || !n->value[0])
        return 0;
    *v = strtod(n->value, &end);
    return *end == '\0' && isfinite(*v);
}

/* The values of a flow list (grid values, choice arguments) as texts. */
static int read_values(sweep *sw, sweep_dim *d, const cfg_node *list, dl_err *err)
{
    d->values = cfg_arena_alloc(sw->arena, sizeof(char *) * (size_t)(list->n + 1));
    if (!d->values)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    for (int i = 0; i < list->n; i++)
        if (!(d->values[i] = flow_text(sw->arena, list->items[i], d->where, err)))
            return DL_ERR;
    d->nvalues = list->n;
    return DL_OK;
}

/* "loguniform(1e-4, 0.1)": its arguments are read as the YAML list
 * "[1e-4, 0.1]". */
static int read_distribution(sweep *sw, sweep_dim *d, const char *text, dl_err *err)
{
    size_t len = strlen(text);
    while (len && text[len - 1] == ' ')
        len--;
    if (len > SWEEP_MAX_VALUE)
        return dl_fail(err, DL_EXIT_USAGE, "%s: a distribution longer than %d characters",
                       d->where, SWEEP_MAX_VALUE);
    const char *open = memchr(text, '(', len);
    if (!open || text[len - 1] != ')')
        return dl_fail(err, DL_EXIT_USAGE,
                       "%s: expected a distribution: choice(a, b, ...), uniform(low, high), "
                       "loguniform(low, high) or int(low, high); got \"%.*s\"",
                       d->where, (int)len, text);
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(text, " ("), text);
    int k = 0;
    while (k < NDISTS && strcmp(dist_names[k], name))
        k++;
    if (k == NDISTS) {
        const char *near = cfg_suggest(name, dist_names, NDISTS);
        return dl_fail(err, DL_EXIT_USAGE,
                       "%s: unknown distribution '%s'%s%s%s (known: choice, uniform, "
                       "loguniform, int)",
                       d->where, name, near ? "; did you mean '" : "", near ? near : "",
                       near ? "'?" : "");
    }
    d->dist = dist_kinds[k];
    char list[SWEEP_MAX_VALUE + 8];
    snprintf(list, sizeof list, "[%.*s]", (int)(text + len - 1 - open - 1), open + 1);
    cfg_node *args = NULL;
    if (cfg_parse_string(list, strlen(list), d->where, &args, err))
        return DL_ERR;
    int rc = DL_OK;
    if (args->type != CFG_SEQ || (d->dist == SWEEP_CHOICE && args->n == 0)) {
        rc = dl_fail(err, DL_EXIT_USAGE, "%s: choice() needs at least one value", d->where);
    } else if (d->dist == SWEEP_CHOICE) {
        rc = read_values(sw, d, args, err);
    } else if (args->n != 2 || !parse_number(args->items[0], &d->low) ||
               !parse_number(args->items[1], &d->high)) {
        rc = dl_fail(err, DL_EXIT_USAGE, "%s: %s() takes two numbers, low and high", d->where,
                     name);
    } else if (d->dist == SWEEP_INT && (d->low != floor(d->low) || d->high != floor(d->high) ||
                                        fabs(d->low) > 1e15 || fabs(d->high) > 1e15)) {
        rc = dl_fail(err, DL_EXIT_USAGE, "%s: int() takes two integers", d->where);
    } else if (d->dist == SWEEP_INT ? d->low > d->high : d->low >= d->high) {
        rc = dl_fail(err, DL_EXIT_USAGE, "%s: %s(%g, %g): low must be below high", d->where,
                     name, d->low, d->high);
    } else if (d->dist == SWEEP_LOGUNIFORM && d->low <= 0) {
        rc = dl_fail(err, DL_EXIT_USAGE, "%s: loguniform() needs low > 0, got %g", d->where,
                     d->low);
    }
    cfg_free(args);
    return rc;
}

static int read_grid(sweep *sw, sweep_dim *d, const char *text, dl_err *err)
{
    cfg_node *list = NULL;
    if (cfg_parse_string(text, strlen(text), d->where, &list, err))
        return DL_ERR;
    int rc = list->type == CFG_SEQ && list->n > 0
                 ? read_values(sw, d, list, err)
                 : dl_fail(err, DL_EXIT_USAGE,
                           "%s: expected a non-empty YAML list of values, such as [0.1, 0.01]",
                           d->where);
    cfg_free(list);
    return rc;
}

int sweep_add_dim(sweep *sw, int random, const char *text, const char *where, dl_err *err)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text || strspn(text, " ") == (size_t)(eq - text))
        return dl_fail(err, DL_EXIT_USAGE, "%s: expected PATH=%s", where,
                       random ? "DISTRIBUTION, such as lr=loguniform(1e-4, 0.1)"
                              : "[VALUE, ...]");
    char path[256];
    snprintf(path, sizeof path, "%.*s", (int)(eq - text), text);
    int at = 0;
    while (at < sw->ndims && strcmp(sw->dims[at].path, path))
        at++;
    if (at == SWEEP_MAX_DIMS)
        return dl_fail(err, DL_EXIT_USAGE, "%s: a sweep varies at most %d settings", where,
                       SWEEP_MAX_DIMS);
    sweep_dim d = {0};
    const char *value = eq + 1 + strspn(eq + 1, " ");
    d.path = cfg_arena_strdup(sw->arena, path);
    d.spec = cfg_arena_strdup(sw->arena, text);
    d.where = cfg_arena_strdup(sw->arena, where);
    if (!d.path || !d.spec || !d.where)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    d.dist = SWEEP_GRID;
    if (random ? read_distribution(sw, &d, value, err) : read_grid(sw, &d, value, err))
        return DL_ERR;
    sw->dims[at] = d;
    if (at == sw->ndims)
        sw->ndims++;
    return DL_OK;
}

/* ---- the config's sweep: section ----------------------------------------- */

static const char *const section_keys[] = {"grid", "random", "trials", "seed", "jobs", "monitor"};
#define NSECTION_KEYS 6

static const char *where_of(const cfg_node *n, const char *path, char *buf, size_t len)
{
    char at[512];
    snprintf(buf, len, "%s: %s", cfg_where(n, at, sizeof at), path);
    return buf;
}

static int section_int(const cfg_node *n, const char *key, long long min, long long max,
                       long long *out, dl_err *err)
{
    char where[700], *end = NULL;
    int ok = n->type == CFG_SCALAR && n->plain && n->value[0];
    if (ok) {
        *out = strtoll(n->value, &end, 10);
        ok = *end == '\0' && *out >= min && *out <= max;
    }
    if (ok)
        return DL_OK;
    char got[128];
    if (n->type == CFG_SCALAR)
        snprintf(got, sizeof got, "\"%.100s\"", n->value);
    else
        snprintf(got, sizeof got, "a %s", n->type == CFG_SEQ ? "list" : "mapping");
    return dl_fail(err, DL_EXIT_USAGE, "%s: expected an integer in [%lld, %lld], got %s",
                   where_of(n, key, where, sizeof where), min, max, got);
}

/* grid: {PATH: [values]} or random: {PATH: "dist(args)"} */
static int section_dims(sweep *sw, const cfg_node *map, int random, dl_err *err)
{
    const char *key = random ? "sweep.random" : "sweep.grid";
    char where[700];
    if (map->type != CFG_MAP)
        return dl_fail(err, DL_EXIT_USAGE, "%s: expected a mapping of PATH: %s",
                       where_of(map, key, where, sizeof where),
                       random ? "\"distribution(...)\"" : "[values]");
    for (int i = 0; i < map->n; i++) {
        const cfg_node *v = map->items[i];
        char path[300], text[SWEEP_MAX_VALUE + 300];
        snprintf(path, sizeof path, "%s.%s", key, map->keys[i]->value);
        where_of(v, path, where, sizeof where);
        if (random && v->type != CFG_SCALAR)
            return dl_fail(err, DL_EXIT_USAGE,
                           "%s: expected a distribution such as \"loguniform(1e-4, 0.1)\"",
                           where);
        char *value = random ? v->value : flow_text(sw->arena, v, where, err);
        if (!value)
            return DL_ERR;
        snprintf(text, sizeof text, "%s=%s", map->keys[i]->value, value);
        if (sweep_add_dim(sw, random, text, where, err))
            return DL_ERR;
    }
    return DL_OK;
}

typedef struct section_values {
    long long trials, seed, jobs;   /* 0 / -1: not given */
    const char *monitor;
} section_values;

static int read_section(sweep *sw, const cfg_node *s, section_values *out, dl_err *err)
{
    char where[700];
    if (s->type != CFG_MAP)
        return dl_fail(err, DL_EXIT_USAGE, "%s: expected a mapping (grid, random, trials, seed, "
                       "jobs, monitor)", where_of(s, "sweep", where, sizeof where));
    for (int i = 0; i < s->n; i++) {
        const char *key = s->keys[i]->value;
        const cfg_node *v = s->items[i];
        int k = 0;
        while (k < NSECTION_KEYS && strcmp(section_keys[k], key))
            k++;
        char path[300];
        snprintf(path, sizeof path, "sweep.%s", key);
        int rc = DL_OK;
        switch (k) {
        case 0:
        case 1: rc = section_dims(sw, v, k == 1, err); break;
        case 2: rc = section_int(v, path, 1, SWEEP_MAX_TRIALS, &out->trials, err); break;
        case 3: rc = section_int(v, path, 0, 2147483647, &out->seed, err); break;
        case 4: rc = section_int(v, path, 1, SWEEP_MAX_JOBS, &out->jobs, err); break;
        case 5:
            if (v->type != CFG_SCALAR || cfg_is_null(v))
                return dl_fail(err, DL_EXIT_USAGE, "%s: expected a metric name such as val_loss",
                               where_of(v, path, where, sizeof where));
            out->monitor = v->value;
            break;
        default: {
            const char *near = cfg_suggest(key, section_keys, NSECTION_KEYS);
            where_of(s->keys[i], path, where, sizeof where);
            if (near)
                return dl_fail(err, DL_EXIT_USAGE, "%s: unknown key; did you mean '%s'?", where,
                               near);
            return dl_fail(err, DL_EXIT_USAGE,
                           "%s: unknown key (valid keys: grid, random, trials, seed, jobs, "
                           "monitor)",
                           where);
        }
        }
        if (rc)
            return DL_ERR;
    }
    return DL_OK;
}

/* Whether the config (after --set) leaves its seed to chance. */
static int seed_is_random(const cfg_node *root)
{
    const cfg_node *seed = cfg_map_get(root, "seed");
    return !seed || cfg_is_null(seed) || (seed->type == CFG_SCALAR && !strcmp(seed->value, "-1"));
}

static int add_set(sweep *sw, const char *text, dl_err *err)
{
    char **set = cfg_arena_alloc(sw->arena, sizeof(char *) * (size_t)(sw->nset + 1));
    if (!set || !(set[sw->nset] = cfg_arena_strdup(sw->arena, text)))
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    memcpy(set, sw->set, sizeof(char *) * (size_t)sw->nset);
    sw->set = set;
    sw->nset++;
    return DL_OK;
}

static int has_random_dim(const sweep *sw)
{
    for (int i = 0; i < sw->ndims; i++)
        if (sw->dims[i].dist != SWEEP_GRID)
            return 1;
    return 0;
}

int sweep_spec_load(sweep *sw, const sweep_options *o, int config_seed, dl_err *err)
{
    cfg_node *root = NULL;
    if (cfg_parse_file(o->config, &root, err))
        return DL_ERR;
    for (int i = 0; i < o->nset; i++)
        if (cfg_apply_override(root, o->set[i], err)) {
            cfg_free(root);
            return DL_ERR;
        }
    section_values section = {0, -1, 0, NULL};
    const cfg_node *node = root->type == CFG_MAP ? cfg_map_get(root, "sweep") : NULL;
    int rc = node ? read_section(sw, node, &section, err) : DL_OK;
    for (int i = 0; rc == DL_OK && i < o->ngrid + o->nrandom; i++) {
        int random = i >= o->ngrid;
        const char *text = random ? o->random[i - o->ngrid] : o->grid[i];
        char where[128];   /* a long list is cut short in messages */
        snprintf(where, sizeof where, "--%s %.*s%s", random ? "random" : "grid", 96, text,
                 strlen(text) > 96 ? "..." : "");
        rc = sweep_add_dim(sw, random, text, where, err);
    }
    if (rc == DL_OK && sw->ndims == 0)
        rc = dl_fail(err, DL_EXIT_USAGE,
                     "%s: nothing to sweep: give --grid PATH=[...] or --random PATH=DIST, or "
                     "a sweep: section with grid or random",
                     o->config);
    int draws = o->trials ? o->trials : (int)section.trials;
    if (rc == DL_OK && draws && !has_random_dim(sw))
        rc = dl_fail(err, DL_EXIT_USAGE,
                     "%s: trials counts random draws, and the sweep has no random dimension "
                     "(a grid runs each of its points once)",
                     o->trials ? "--trials" : "sweep.trials");
    int vary_seed = 0;
    for (int i = 0; i < sw->ndims; i++)
        vary_seed |= !strcmp(sw->dims[i].path, "seed");
    if (rc == DL_OK && !vary_seed && seed_is_random(root)) {
        char text[64];
        snprintf(text, sizeof text, "seed=%d", config_seed);
        rc = add_set(sw, text, err);
    }
    if (rc == DL_OK) {
        sw->draws = has_random_dim(sw) ? (draws ? draws : 10) : 1;
        sw->seed = o->has_seed           ? o->seed
                   : section.seed >= 0 ? (uint64_t)section.seed
                                       : (uint64_t)config_seed;
        sw->jobs = o->jobs ? o->jobs : section.jobs ? (int)section.jobs : 1;
        snprintf(sw->monitor, sizeof sw->monitor, "%s",
                 o->monitor ? o->monitor : section.monitor ? section.monitor : "");
    }
    cfg_free(root);
    return rc;
}

/* ---- trials ------------------------------------------------------------------ */

/* Appends up to max_in characters of `in` fit for a file name: letters,
 * digits and ._+-= stay, brackets, quotes and blanks go, anything else
 * becomes '-' (none left at the end). */
static void put_safe(char *out, size_t len, const char *in, size_t max_in)
{
    size_t start = strlen(out), used = start;
    for (size_t i = 0; in[i] && i < max_in && used + 1 < len; i++) {
        char c = in[i];
        if (strchr("[]{}\"' ", c))
            continue;
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   strchr("._+-=", c);
        out[used++] = keep ? c : '-';
    }
    while (used > start && out[used - 1] == '-')
        used--;
    out[used] = '\0';
}

/* The last `parts` dot-separated parts of path. */
static const char *path_tail(const char *path, int parts)
{
    const char *p = path + strlen(path);
    while (p > path) {
        if (p[-1] == '.' && --parts == 0)
            return p;
        p--;
    }
    return path;
}

void sweep_label_dims(sweep *sw)
{
    int parts[SWEEP_MAX_DIMS];
    for (int i = 0; i < sw->ndims; i++)
        parts[i] = 1;
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < sw->ndims; i++)
            for (int j = i + 1; j < sw->ndims; j++) {
                const char *a = path_tail(sw->dims[i].path, parts[i]);
                const char *b = path_tail(sw->dims[j].path, parts[j]);
                if (strcmp(a, b))
                    continue;
                if (a != sw->dims[i].path)
                    parts[i]++, changed = 1;
                if (b != sw->dims[j].path)
                    parts[j]++, changed = 1;
            }
    }
    for (int i = 0; i < sw->ndims; i++) {
        char label[128] = "";
        put_safe(label, sizeof label, path_tail(sw->dims[i].path, parts[i]), 64);
        sw->dims[i].label = cfg_arena_strdup(sw->arena, label);
    }
}

/* splitmix64: a small, fixed generator, so a seed means the same trials
 * on every machine. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double next_unit(uint64_t *state)
{
    return (double)(next_random(state) >> 11) * 0x1.0p-53;
}

/* One drawn value as YAML text (4 significant digits for real numbers). */
static void draw(const sweep_dim *d, uint64_t *state, char *buf, size_t len)
{
    double u = next_unit(state);
    switch (d->dist) {
    case SWEEP_CHOICE:
        snprintf(buf, len, "%s", d->values[(int)(u * d->nvalues)]);
        return;
    case SWEEP_INT:
        snprintf(buf, len, "%.0f", d->low + floor(u * (d->high - d->low + 1)));
        return;
    case SWEEP_LOGUNIFORM:
        snprintf(buf, len, "%.4g", exp(log(d->low) + u * (log(d->high) - log(d->low))));
        return;
    default:
        snprintf(buf, len, "%.4g", d->low + u * (d->high - d->low));
    }
}

static int name_trial(sweep *sw, sweep_trial *t, int width)
{
    char name[160];
    snprintf(name, sizeof name, "t%0*d", width, t->index);
    for (int i = 0; i < t->noverrides; i++) {
        const char *value = strchr(t->overrides[i], '=') + 1;
        size_t used = strlen(name);
        snprintf(name + used, sizeof name - used, "%s%s=", i ? "_" : "-", sw->dims[i].label);
        put_safe(name, 121, value, 32);
    }
    return (t->name = cfg_arena_strdup(sw->arena, name)) ? DL_OK : DL_ERR;
}

int sweep_make_trials(sweep *sw, dl_err *err)
{
    long long points = 1;
    for (int i = 0; i < sw->ndims; i++)
        if (sw->dims[i].dist == SWEEP_GRID && (points *= sw->dims[i].nvalues) > SWEEP_MAX_TRIALS)
            break;
    long long total = points * sw->draws;
    if (total > SWEEP_MAX_TRIALS)
        return dl_fail(err, DL_EXIT_USAGE, "the sweep has %lld trials or more; at most %d run",
                       total, SWEEP_MAX_TRIALS);
    sw->ntrials = (int)total;
    sw->trials = cfg_arena_alloc(sw->arena, sizeof(sweep_trial) * (size_t)total);
    if (!sw->trials)
        return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    int width = total >= 1000 ? (int)floor(log10((double)total)) + 1 : 3;
    uint64_t state = sw->seed;
    for (int k = 0; k < sw->ntrials; k++) {
        sweep_trial *t = &sw->trials[k];
        t->index = k + 1;
        t->best_value = NAN;
        t->noverrides = sw->ndims;
        t->overrides = cfg_arena_alloc(sw->arena, sizeof(char *) * (size_t)(sw->ndims + 1));
        if (!t->overrides)
            return dl_fail(err, DL_EXIT_FAIL, "out of memory");
        /* the grid point's value indices, the last dimension fastest */
        long long point = k / sw->draws;
        int pick[SWEEP_MAX_DIMS] = {0};
        for (int i = sw->ndims - 1; i >= 0; i--)
            if (sw->dims[i].dist == SWEEP_GRID) {
                pick[i] = (int)(point % sw->dims[i].nvalues);
                point /= sw->dims[i].nvalues;
            }
        for (int i = 0; i < sw->ndims; i++) {
            const sweep_dim *d = &sw->dims[i];
            char value[SWEEP_MAX_VALUE + 1], text[SWEEP_MAX_VALUE + 300];
            if (d->dist == SWEEP_GRID)
                snprintf(value, sizeof value, "%s", d->values[pick[i]]);
            else
                draw(d, &state, value, sizeof value);
            snprintf(text, sizeof text, "%s=%s", d->path, value);
            if (!(t->overrides[i] = cfg_arena_strdup(sw->arena, text)))
                return dl_fail(err, DL_EXIT_FAIL, "out of memory");
        }
        if (name_trial(sw, t, width))
            return dl_fail(err, DL_EXIT_FAIL, "out of memory");
    }
    return DL_OK;
}

tb_hparam_type sweep_value_type(const char *text)
{
    char *end;
    strtod(text, &end);
    if (*text && !*end)
        return TB_HPARAM_NUMBER;
    if (!strcmp(text, "true") || !strcmp(text, "false"))
        return TB_HPARAM_BOOL;
    return TB_HPARAM_STRING;
}

cJSON *sweep_value_json(const char *text)
{
    switch (sweep_value_type(text)) {
    case TB_HPARAM_NUMBER: return cJSON_CreateNumber(strtod(text, NULL));
    case TB_HPARAM_BOOL: return cJSON_CreateBool(!strcmp(text, "true"));
    default: return cJSON_CreateString(text);
    }
}

/* test_tree.c: the YAML tree: parsing with positions, the limits against
 * hostile input, --set overrides, the writer's round trip and cfg_suggest. */
#include "configs/suggest.h"
#include "configs/tree.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static dl_err err;

/* Structure, values, plain flags (positions are not compared). */
static int tree_equal(const cfg_node *a, const cfg_node *b)
{
    if (a->type != b->type || a->n != b->n)
        return 0;
    if (a->type == CFG_SCALAR)
        return !strcmp(a->value, b->value) && a->plain == b->plain;
    for (int i = 0; i < a->n; i++)
        if ((a->type == CFG_MAP && !tree_equal(a->keys[i], b->keys[i])) ||
            !tree_equal(a->items[i], b->items[i]))
            return 0;
    return 1;
}

/* parse(emit(tree)) is the same tree. */
static void check_roundtrip(const cfg_node *tree, const char *what)
{
    char *text = cfg_emit(tree);
    cfg_node *back = NULL;
    int rc = text ? cfg_parse_string(text, strlen(text), "emitted", &back, &err) : DL_ERR;
    CHECK(rc == DL_OK && tree_equal(tree, back), "round trip of %s:\n%s\n%s", what,
          text ? text : "(null)", rc ? err.msg : "");
    cfg_free(back);
    free(text);
}

/* Parses text (which must succeed) and checks its round trip. */
static cfg_node *parse(const char *text)
{
    cfg_node *root = NULL;
    int rc = cfg_parse_string(text, strlen(text), "t.yaml", &root, &err);
    CHECK(rc == DL_OK && root, "parse failed: %s\n%s", err.msg, text);
    if (root)
        check_roundtrip(root, text);
    return root;
}

/* Parses text that must fail with exit code 2 and a message containing want. */
static void parse_fails(const char *text, size_t len, const char *want)
{
    cfg_node *root = NULL;
    memset(&err, 0, sizeof err);
    int rc = cfg_parse_string(text, len, "t.yaml", &root, &err);
    CHECK(rc == DL_ERR && !root && err.exit_code == DL_EXIT_USAGE && strstr(err.msg, want),
          "want error containing \"%s\", got rc %d: %s", want, rc, err.msg);
}

static void fails(const char *text, const char *want)
{
    parse_fails(text, strlen(text), want);
}

static int at(const cfg_node *n, int line, int col)
{
    return n && n->line == line && n->col == col;
}

static char *repeat(const char *unit, int times, const char *tail)
{
    size_t len = strlen(unit), tail_len = strlen(tail);
    char *s = malloc(len * (size_t)times + tail_len + 1);
    for (int i = 0; i < times; i++)
        memcpy(s + len * (size_t)i, unit, len);
    memcpy(s + len * (size_t)times, tail, tail_len + 1);
    return s;
}

static void test_positions(void)
{
    char origin[] = "cfg.yaml";
    const char *text = "name: mnist\n"
                       "model:\n"
                       "  input_shape: [28, 28, 1]\n"
                       "  layers:\n"
                       "    - Dense: {units: 128, activation: relu}\n"
                       "    - Flatten\n"
                       "fit: {epochs: 5}\n";
    cfg_node *root = NULL;
    CHECK(cfg_parse_string(text, strlen(text), origin, &root, &err) == DL_OK, "%s", err.msg);
    origin[0] = 'X';    /* the tree keeps its own copy of the origin */
    CHECK(root->type == CFG_MAP && root->n == 3 && at(root, 1, 1), "root");
    CHECK(at(root->keys[0], 1, 1) && at(root->items[0], 1, 7), "name key and value");
    char where[64];
    CHECK(!strcmp(cfg_where(root->items[0], where, sizeof where), "cfg.yaml:1:7"), "%s", where);
    cfg_node *model = cfg_map_get(root, "model");
    CHECK(at(root->keys[1], 2, 1) && at(model, 3, 3), "model");
    cfg_node *shape = cfg_map_get(model, "input_shape");
    CHECK(at(shape, 3, 16) && shape->n == 3 && at(shape->items[0], 3, 17) &&
              at(shape->items[1], 3, 21) && at(shape->items[2], 3, 25),
          "flow list items");
    cfg_node *layers = cfg_map_get(model, "layers");
    CHECK(at(model->keys[1], 4, 3) && at(layers, 5, 5), "layers");
    cfg_node *dense = layers->items[0];
    CHECK(at(dense, 5, 7) && at(dense->keys[0], 5, 7) && at(dense->items[0], 5, 14), "Dense");
    cfg_node *args = dense->items[0];
    CHECK(at(args->keys[0], 5, 15) && at(args->items[0], 5, 22) && at(args->keys[1], 5, 27) &&
              at(args->items[1], 5, 39),
          "flow mapping keys and values");
    CHECK(at(layers->items[1], 6, 7) && !strcmp(layers->items[1]->value, "Flatten"), "Flatten");
    CHECK(at(cfg_map_get(cfg_map_get(root, "fit"), "epochs"), 7, 15), "fit.epochs");
    CHECK(!strcmp(args->items[0]->origin, "cfg.yaml"), "origin %s", args->items[0]->origin);
    check_roundtrip(root, "positions");
    cfg_free(root);
}

static void test_scalars(void)
{
    cfg_node *root = parse("a: 1\nb: \"1\"\nc: '1'\nd: |\n  x\ne: >\n  y\nf: !!str 2\n"
                           "g: !!int \"3\"\nh: ! 4\ni:\nj: ~\nk: null\nl: Null\nm: NULL\n"
                           "n: \"null\"\no: nul\np: ''\n");
    static const struct {
        const char *key, *value;
        int plain, null;
    } want[] = {{"a", "1", 1, 0}, {"b", "1", 0, 0}, {"c", "1", 0, 0}, {"d", "x\n", 0, 0},
                {"e", "y\n", 0, 0}, {"f", "2", 0, 0}, {"g", "3", 1, 0}, {"h", "4", 0, 0},
                {"i", "", 1, 1}, {"j", "~", 1, 1}, {"k", "null", 1, 1}, {"l", "Null", 1, 1},
                {"m", "NULL", 1, 1}, {"n", "null", 0, 0}, {"o", "nul", 1, 0}, {"p", "", 0, 0}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const cfg_node *v = cfg_map_get(root, want[i].key);
        CHECK(v && v->type == CFG_SCALAR && !strcmp(v->value, want[i].value) &&
                  v->plain == want[i].plain && cfg_is_null(v) == want[i].null,
              "scalar %s", want[i].key);
    }
    CHECK(!cfg_map_get(root, "zz") && !cfg_map_get(cfg_map_get(root, "a"), "x"), "absent keys");
    cfg_free(root);
    static const char *const empties[] = {"", "# only a comment\n", "---\n", "\n\n"};
    for (size_t i = 0; i < sizeof empties / sizeof *empties; i++) {
        root = parse(empties[i]);
        CHECK(root && root->type == CFG_MAP && root->n == 0 && at(root, 1, 1), "empty doc %zu", i);
        cfg_free(root);
    }
}

static void test_errors(void)
{
    fails("a: [1, 2\nb: 3\n", "t.yaml:2:2: YAML syntax error: did not find expected ',' or ']'");
    fails("a: 1\n b: 2\n", "t.yaml:2:3: YAML syntax error: mapping values are not allowed");
    fails("[a]: 1\n", "t.yaml:1:1: a mapping key must be a scalar, not a list");
    fails("x:\n  ? {a: 1}\n  : 2\n", "t.yaml:2:5: a mapping key must be a scalar, not a mapping");
    fails("a: 1\nlayer:\n  units: 1\n  x: 2\n  units: 3\n",
          "t.yaml:5:3: duplicate key 'units' (first at line 3)");
    fails("a: {x: 1, y: 2, x: 3}\n", "t.yaml:1:17: duplicate key 'x' (first at column 5)");
    fails("a: 1\nb: 2\na: 3\nb: 4\n", "t.yaml:3:1: duplicate key 'a' (first at line 1)");
    fails("a: 1\n---\nb: 2\n", "t.yaml:2:1: a second document");
    fails("a: !!python/object:os.system x\n",
          "t.yaml:1:4: tag '!!python/object:os.system' is not supported");
    fails("a: !custom x\n", "t.yaml:1:4: tag '!custom' is not supported");
    fails("a: !!map [1]\n", "t.yaml:1:4: tag '!!map' does not fit a list");
    fails("a: !!int [1]\n", "t.yaml:1:4: tag '!!int' does not fit a list");
    fails("a: !!seq x\n", "t.yaml:1:4: tag '!!seq' does not fit a scalar");
    fails("a: b\nc: \xff\n", "t.yaml:2:4: invalid YAML text: invalid leading UTF-8 octet");
    fails("a: \"caf\xc3\"\n", "t.yaml:1:9: invalid YAML text: invalid trailing UTF-8 octet (#x22)");
    fails("a: caf\xc3", "t.yaml:1:7: invalid YAML text: incomplete UTF-8 octet sequence");
    fails("a: *nope\n", "t.yaml:1:4: undefined alias '*nope'");
    fails("a: &a [1, *a]\n", "t.yaml:1:11: undefined alias '*a'");
    fails("base: &b {x: 1}\nc:\n  <<: *b\n", "t.yaml:3:3: merge keys ('<<') are not supported");
    fails("a: \"x\\0y\"\n", "t.yaml:1:4: a string may not contain a NUL character");
    parse_fails("a: 1\0\n", 6, "t.yaml:1:5: invalid YAML text: control characters are not allowed");
    cfg_node *root = parse("\"<<\": 1\n");
    CHECK(root && root->n == 1, "a quoted '<<' is an ordinary key");
    cfg_free(root);
}

/* open repeated n times, then inner, then close repeated n times. */
static char *nest(const char *open, const char *inner, const char *close, int n)
{
    char *head = repeat(open, n, inner), *tail = repeat(close, n, "");
    char *s = malloc(strlen(head) + strlen(tail) + 1);
    strcpy(s, head);
    strcat(s, tail);
    free(head);
    free(tail);
    return s;
}

/* n nested block mappings, one space of indentation per level. */
static char *block_maps(int n)
{
    size_t len = (size_t)n * (size_t)(n + 1) / 2 + (size_t)n * 4 + 8;
    char *s = malloc(len), *p = s;
    for (int level = 0; level < n; level++) {
        memset(p, ' ', (size_t)level);
        p += level;
        p += sprintf(p, level + 1 == n ? "a: 1\n" : "a:\n");
    }
    return s;
}

static void test_depth(void)
{
    char *text = nest("[", "", "]", CFG_MAX_DEPTH);
    cfg_node *root = parse(text);
    CHECK(root && root->type == CFG_SEQ, "%d nested lists work", CFG_MAX_DEPTH);
    cfg_free(root);
    free(text);
    text = nest("[", "", "]", CFG_MAX_DEPTH + 1);
    fails(text, "t.yaml:1:65: nesting deeper than 64 levels");
    free(text);
    text = repeat("[", 10000, "");
    fails(text, "t.yaml:1:65: nesting deeper than 64 levels");
    free(text);
    text = repeat("- ", 10000, "x\n");
    fails(text, "t.yaml:1:129: nesting deeper than 64 levels");
    free(text);
    text = block_maps(CFG_MAX_DEPTH);
    root = parse(text);
    CHECK(root && root->type == CFG_MAP, "%d nested block mappings work", CFG_MAX_DEPTH);
    cfg_free(root);
    free(text);
    text = block_maps(CFG_MAX_DEPTH + 1);
    fails(text, "t.yaml:65:65: nesting deeper than 64 levels");
    free(text);
    /* As deep as the size limit allows with one space per level. */
    text = block_maps(5000);
    fails(text, "t.yaml:65:65: nesting deeper than 64 levels");
    free(text);
    /* An alias counts its own levels where it is used. */
    char *anchored = nest("[", "1", "]", 60);
    for (int levels = 3; levels <= 4; levels++) {
        char *use = nest("[", "*a", "]", levels);
        size_t len = strlen(anchored) + strlen(use) + 16;
        text = malloc(len);
        snprintf(text, len, "a: &a %s\nb: %s\n", anchored, use);
        if (levels == 3) {
            root = parse(text);
            CHECK(root && root->n == 2, "an alias up to the limit works");
            cfg_free(root);
        } else {
            fails(text, "t.yaml:2:8: alias '*a' nests deeper than 64 levels");
        }
        free(text);
        free(use);
    }
    free(anchored);
}

static void test_size_limits(void)
{
    char *text = repeat(",0", CFG_MAX_NODES, "]");
    text[0] = '[';
    fails(text, "more than 200000 nodes");
    free(text);
    /* 9 levels of 10 aliases would be a billion strings. */
    size_t len = 4096;
    text = malloc(len);
    strcpy(text, "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (char level = 'b'; level <= 'i'; level++) {
        char line[128];
        snprintf(line, sizeof line, "%c: &%c [", level, level);
        strcat(text, line);
        for (int i = 0; i < 10; i++) {
            snprintf(line, sizeof line, "%s*%c", i ? ", " : "", level - 1);
            strcat(text, line);
        }
        strcat(text, "]\n");
    }
    clock_t start = clock();
    fails(text, "t.yaml:6:8: alias '*e' expands the document past the limit of 200000 nodes");
    double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
    CHECK(seconds < 0.5, "billion laughs took %.2f s", seconds);
    free(text);
    /* Few nodes but much text: 1 MiB copied 17 times. */
    char *big = repeat("x", 1 << 20, "");
    char *uses = repeat("*a, ", 16, "*a]\n");
    len = strlen(big) + strlen(uses) + 32;
    text = malloc(len);
    snprintf(text, len, "a: &a %s\nb: [%s", big, uses);
    fails(text, "alias '*a' expands the document past the limit of 16777216 bytes of text");
    free(text);
    free(uses);
    free(big);
    text = repeat(" ", CFG_MAX_BYTES + 1, "");
    parse_fails(text, CFG_MAX_BYTES + 1, "t.yaml: the config is larger than the limit");
    free(text);
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(text, 1, len, f) == len, "writing %s", path);
    if (f)
        fclose(f);
}

static void file_fails(const char *path, const char *want)
{
    cfg_node *root = NULL;
    memset(&err, 0, sizeof err);
    CHECK(cfg_parse_file(path, &root, &err) == DL_ERR && !root &&
              err.exit_code == DL_EXIT_USAGE && strstr(err.msg, want),
          "want \"%s\", got: %s", want, err.msg);
}

static void test_files(void)
{
    char dir[] = "/tmp/test_tree_XXXXXX", path[256], want[512], where[300];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/cfg.yaml", dir);
    write_file(path, "seed: 42\n", 9);
    cfg_node *root = NULL;
    CHECK(cfg_parse_file(path, &root, &err) == DL_OK, "%s", err.msg);
    snprintf(want, sizeof want, "%s:1:7", path);
    CHECK(root && !strcmp(cfg_where(cfg_map_get(root, "seed"), where, sizeof where), want),
          "where %s", where);
    cfg_free(root);
    snprintf(want, sizeof want, "%s/missing.yaml", dir);
    char message[600];
    snprintf(message, sizeof message, "cannot open %s: No such file or directory", want);
    file_fails(want, message);
    snprintf(message, sizeof message, "cannot read %s: Is a directory", dir);
    file_fails(dir, message);
    /* A comment filling the limit is fine; one byte more is not. */
    char *text = repeat("#", CFG_MAX_BYTES - 1, "\n");
    write_file(path, text, CFG_MAX_BYTES);
    CHECK(cfg_parse_file(path, &root, &err) == DL_OK && root->n == 0, "%s", err.msg);
    cfg_free(root);
    write_file(path, text, CFG_MAX_BYTES);
    FILE *f = fopen(path, "ab");
    fputc('\n', f);
    fclose(f);
    snprintf(message, sizeof message, "%s: the file is larger than the limit of 16777216", path);
    file_fails(path, message);
    free(text);
    write_file(path, "a: 1\nb: [\n", 10);
    snprintf(message, sizeof message, "%s:3:1: YAML syntax error: did not find expected node content", path);
    file_fails(path, message);
    unlink(path);
    rmdir(dir);
}

static void test_aliases(void)
{
    cfg_node *root = parse("base: &b {units: 10, act: [relu, x]}\nl1: *b\nl2: [*b]\n"
                           "s: &s hello\nt: *s\nr: &s 2\nu: *s\n&k name: 1\nv: *k\n");
    const cfg_node *base = cfg_map_get(root, "base"), *l1 = cfg_map_get(root, "l1");
    CHECK(tree_equal(base, l1) && base != l1 && tree_equal(base, cfg_map_get(root, "l2")->items[0]),
          "alias copies the anchored node");
    CHECK(l1->line == base->line && l1->col == base->col && at(l1->keys[1], 1, 22),
          "copies keep the positions of the original");
    CHECK(!strcmp(cfg_map_get(root, "t")->value, "hello") && at(cfg_map_get(root, "t"), 4, 4),
          "scalar alias");
    CHECK(!strcmp(cfg_map_get(root, "u")->value, "2"), "a redefined anchor replaces the old one");
    CHECK(!strcmp(cfg_map_get(root, "v")->value, "name"), "anchor on a key");
    cfg_free(root);
    fails("a: &k {x: 1}\n*k : 2\n", "t.yaml:2:1: a mapping key must be a scalar");
}

static void test_builders(void)
{
    cfg_node *map = cfg_new_map(), *list = cfg_new_seq();
    cfg_seq_push(list, cfg_new_scalar("a: b", 1));
    cfg_seq_push(list, cfg_new_scalar("x", 0));
    cfg_map_set(map, "list", list);
    cfg_map_set(map, "units", cfg_new_scalar("10", 1));
    cfg_map_set(map, "units", cfg_new_scalar("20", 1));
    CHECK(map->n == 2 && !strcmp(cfg_map_get(map, "units")->value, "20"), "set replaces");
    char where[64];
    CHECK(!strcmp(cfg_where(list, where, sizeof where), "(generated)"), "%s", where);
    cfg_node *copy = cfg_copy(map);
    CHECK(copy != map && tree_equal(copy, map) && !cfg_copy(NULL), "copy");
    /* A plain scalar that cannot be written plain comes back quoted. */
    char *text = cfg_emit(map);
    CHECK(strstr(text, "list:\n  - \"a: b\"\n  - \"x\"\n") != NULL, "%s", text);
    free(text);
    cfg_map_set(copy, "list", cfg_new_scalar("a: b", 0));
    char *long_key = repeat("k", 300, " x");
    cfg_map_set(copy, long_key, cfg_new_map());
    cfg_map_set(cfg_map_get(copy, long_key), "deep", cfg_new_scalar("1", 1));
    cfg_node *in_list = cfg_new_seq();
    cfg_seq_push(in_list, cfg_copy(copy));
    cfg_map_set(copy, "in_list", in_list);
    check_roundtrip(copy, "keys longer than a simple key");
    free(long_key);
    cfg_free(copy);
    cfg_free(map);
}

static void test_emit(void)
{
    cfg_node *root = parse(
        "name: fashion_mnist_cnn\nseed: 42\n"
        "data:\n  train: {format: idx, images: /data/train-images.gz}\n"
        "  validation_split: 0.1\n"
        "model:\n  input_shape: [28, 28, 1]\n  layers:\n"
        "    - Conv2D: {filters: 32, kernel_size: 3, activation: relu}\n"
        "    - Flatten\n    - Dense: {units: 10, activation: softmax}\n"
        "compile:\n  optimizer: {class_name: Adam, learning_rate: 0.001}\n"
        "  metrics: [accuracy]\n"
        "specials:\n  yes_str: \"yes\"\n  yes_plain: yes\n  lr: 1e-3\n  lr_str: \"1e-3\"\n"
        "  colon: \"a: b\"\n  hash: \"#x\"\n  inner_hash: \"a #b\"\n  empty: \"\"\n"
        "  nothing:\n  tilde: ~\n  multi: |\n    line one\n    line two\n"
        "  quotes: 'it''s \"q\"'\n  backslash: \"a\\\\b\"\n"
        "  unicode: \"caf\xc3\xa9 \\u2028 \\x85 \\t \\ufeff \\x01 \\x7f end\"\n"
        "  spaces: \" lead and trail \"\n  dash: \"-\"\n  minus_one: -1\n  dashes: ---x\n"
        "  doc_start: \"--- x\"\n  question: ?x\n  colon_word: :x\n  tag_like: \"!x\"\n"
        "  url: http://x.org/a#b\n  key with spaces: value with spaces\n"
        "  \"quoted key\": 1\n  \"1\": one\n  \"\": empty key\n  null_key:\n    ?\n    : v\n"
        "  lone_dash: [-, a]\n  -: dash key\n  colon_key:: v\n"
        "  flow_specials: [\"a,b\", \"[x]\", \"\", yes, \"no\", -2, \"?x\"]\n"
        "  plain_commas: [a b, c]\n  long_list: [1, 2, 3, 4, 5, 6, 7, 8, 9]\n"
        "  nested: [[1, 2], [3, [4]]]\n  empty_map: {}\n  empty_seq: []\n"
        "  of_empties: [{}, [], \"\"]\n  nulls: [~, null, ]\n  block_null:\n    -\n    - x\n");
    if (!root)
        return;
    char *text = cfg_emit(root);
    CHECK(strstr(text, "model:\n  input_shape: [28, 28, 1]\n  layers:\n    - Conv2D:\n"
                       "        filters: 32\n") != NULL,
          "block layout:\n%s", text);
    CHECK(strstr(text, "    - Flatten\n") && strstr(text, "  metrics: [accuracy]\n") &&
              strstr(text, "  yes_str: \"yes\"\n  yes_plain: yes\n") &&
              strstr(text, "  empty_map: {}\n  empty_seq: []\n") && strstr(text, "  nothing:\n") &&
              strstr(text, "  multi: \"line one\\nline two\\n\"\n") &&
              strstr(text, "  long_list:\n    - 1\n") &&
              strstr(text, "  null_key:\n    ?\n    : v\n") &&
              strstr(text, "  lone_dash: [-, a]\n  -: dash key\n  colon_key:: v\n"),
          "scalars and short lists:\n%s", text);
    free(text);
    cfg_free(root);
    root = parse("- [a, b]\n- - x\n  - {y: 1}\n- {}\n- z: [1]\n  w:\n    - {}\n");
    cfg_free(root);
    root = parse("plain root");
    CHECK(root && root->type == CFG_SCALAR, "a scalar document");
    cfg_free(root);
}

static const char override_base[] = "model:\n"
                                    "  input_shape: [28, 28]\n"
                                    "  layers:\n"
                                    "    - Flatten\n"
                                    "    - Dense: {units: 128, activation: relu}\n"
                                    "    - Dropout: {rate: 0.2}\n"
                                    "    - Dense: {units: 10}\n"
                                    "fit:\n"
                                    "  epochs: 5\n"
                                    "  optimizer: {class_name: SGD}\n"
                                    "  callbacks:\n";

/* Applies one override, which must succeed, and checks the round trip. */
static void set(cfg_node *root, const char *assignment)
{
    CHECK(cfg_apply_override(root, assignment, &err) == DL_OK, "%s: %s", assignment, err.msg);
    check_roundtrip(root, assignment);
}

/* An override that must fail with exit code 2 and leave the tree alone. */
static void set_fails(cfg_node *root, const char *assignment, const char *want)
{
    cfg_node *before = cfg_copy(root);
    memset(&err, 0, sizeof err);
    CHECK(cfg_apply_override(root, assignment, &err) == DL_ERR &&
              err.exit_code == DL_EXIT_USAGE && strstr(err.msg, want),
          "%s: want \"%s\", got: %s", assignment, want, err.msg);
    CHECK(tree_equal(before, root), "%s changed the tree", assignment);
    cfg_free(before);
}

static const cfg_node *get(const cfg_node *n, const char *k1, const char *k2)
{
    return cfg_map_get(cfg_map_get(n, k1), k2);
}

static void test_overrides(void)
{
    cfg_node *root = parse(override_base);
    char where[128], assignment[64];
    strcpy(assignment, "fit.epochs=7");
    set(root, assignment);
    strcpy(assignment, "overwritten");
    const cfg_node *epochs = get(root, "fit", "epochs");
    CHECK(!strcmp(epochs->value, "7") && epochs->plain, "set a scalar");
    CHECK(!strcmp(cfg_where(epochs, where, sizeof where), "--set fit.epochs=7"), "%s", where);
    CHECK(at(cfg_map_get(root, "fit")->keys[0], 9, 3), "the key keeps its position");
    set(root, "fit.optimizer=adam");
    CHECK(get(root, "fit", "optimizer")->type == CFG_SCALAR, "a mapping replaced by a scalar");
    set(root, "data.train.format=idx");
    const cfg_node *train = get(root, "data", "train");
    CHECK(train && train->type == CFG_MAP && !strcmp(cfg_map_get(train, "format")->value, "idx"),
          "missing mappings are created");
    CHECK(!strcmp(cfg_where(cfg_map_get(root, "data"), where, sizeof where),
                  "--set data.train.format=idx") &&
              !strcmp(cfg_where(root->keys[2], where, sizeof where), "--set data.train.format=idx"),
          "created nodes name the override: %s", where);
    set(root, "model.layers[1].Dense.units=512");
    const cfg_node *layers = get(root, "model", "layers");
    CHECK(!strcmp(get(layers->items[1], "Dense", "units")->value, "512"), "index into layers");
    set(root, "model.layers[0]=Dropout");
    CHECK(!strcmp(layers->items[0]->value, "Dropout"), "replace a list item");
    set(root, "fit.callbacks.early.patience=3");
    CHECK(get(get(root, "fit", "callbacks"), "early", "patience"), "a null is as good as missing");
    set(root, "model.input_shape=[28,28,1]");
    const cfg_node *shape = get(root, "model", "input_shape");
    CHECK(shape->type == CFG_SEQ && shape->n == 3 && !strcmp(shape->items[2]->value, "1"),
          "a flow list value");
    set(root, "compile.optimizer={class_name: Adam}");
    const cfg_node *class_name = cfg_map_get(get(root, "compile", "optimizer"), "class_name");
    CHECK(class_name && !strcmp(class_name->value, "Adam"), "a flow mapping value");
    set(root, "name=\"1\"");
    CHECK(!cfg_map_get(root, "name")->plain, "a quoted value stays a string");
    set(root, "fit.epochs=");
    CHECK(cfg_is_null(get(root, "fit", "epochs")), "an empty value is null");
    set(root, "a-b_c.d9=x");
    set_fails(root, "model.layers[7].Dense.units=5",
              "--set model.layers[7].Dense.units=5: model.layers[7]: index 7 is out of range "
              "(model.layers has 4 items)");
    set_fails(root, "fit.optimizer.x=1",
              "--set fit.optimizer.x=1: fit.optimizer.x: fit.optimizer is a scalar, not a "
              "mapping");
    set_fails(root, "model.layers.Dense=1", "model.layers.Dense: model.layers is a list, not a "
                                            "mapping");
    set_fails(root, "model[0]=1", "model[0]: model is a mapping, not a list");
    set_fails(root, "name[0]=1", "name[0]: name is a scalar, not a list");
    set_fails(root, "newsec.x[0]=1", "newsec.x[0]: newsec.x does not exist, so it has no index 0");
    set_fails(root, "fit.epochs[0]=1", "fit.epochs[0]: fit.epochs is null, so it has no index 0");
    set_fails(root, "fit.epochs", "--set fit.epochs: missing '=' at character 11 (expected PATH=VALUE)");
    set_fails(root, "a..b=1", "--set a..b=1: bad path at character 3: expected a key");
    set_fails(root, "a[x]=1", "bad path at character 3: expected an index");
    set_fails(root, "a[1=1", "bad path at character 4: expected ']'");
    set_fails(root, "a b=1", "bad path at character 2: expected '.' or '[' after 'a'");
    set_fails(root, "a.=1", "bad path at character 3: expected a key");
    set_fails(root, "[0]=1", "bad path at character 1: expected a key");
    set_fails(root, "=1", "empty path");
    set_fails(root, "a[99999999999]=1", "bad path at character 3: index too large");
    set_fails(root, "fit.epochs=[1,", "--set fit.epochs=[1,: value 2:1: YAML syntax error: did not find expected node content");
    set_fails(root, "fit.epochs={a: 1, a: 2}", "--set fit.epochs={a: 1, a: 2}: value 1:8: "
                                              "duplicate key 'a'");
    char *deep_path = repeat("a.", CFG_MAX_DEPTH, "a=1");
    set_fails(root, deep_path, "the path has more than 64 parts");
    free(deep_path);
    char *deep_value = nest("[", "", "]", 60);
    char deep[200];
    snprintf(deep, sizeof deep, "a.b.c.d.e=%s", deep_value);
    set_fails(root, deep, "the path and the value nest deeper than 64 levels");
    snprintf(deep, sizeof deep, "a.b.c.d=%s", deep_value);
    set(root, deep);
    free(deep_value);
    cfg_free(root);
    root = parse("- 1\n");
    set_fails(root, "a=1", "a: the document is a list, not a mapping (index it with [N])");
    cfg_free(root);
}

static void test_suggest(void)
{
    static const char *const keys[] = {"units", "activation", "use_bias", "Dense", "Adam", "SGD"};
    const int n = sizeof keys / sizeof *keys;
    const char *s;
    CHECK((s = cfg_suggest("unit", keys, n)) && !strcmp(s, "units"), "unit");
    CHECK((s = cfg_suggest("activaton", keys, n)) && !strcmp(s, "activation"), "activaton");
    CHECK((s = cfg_suggest("actviation", keys, n)) && !strcmp(s, "activation"), "a swap");
    CHECK((s = cfg_suggest("Dens", keys, n)) && !strcmp(s, "Dense"), "Dens");
    CHECK((s = cfg_suggest("adam", keys, n)) && !strcmp(s, "Adam"), "adam");
    CHECK((s = cfg_suggest("sgd", keys, n)) && !strcmp(s, "SGD"), "case always counts");
    CHECK(!cfg_suggest("xyz", keys, n), "xyz");
    CHECK(!cfg_suggest("sgx", keys, 0), "no candidates");
    CHECK(!cfg_suggest("uni", keys, n), "3 letters allow one edit only");
    CHECK(!cfg_suggest("usebiasxx", keys, n), "three edits are too many");
    char *long_word = repeat("u", 100, "");
    CHECK(!cfg_suggest(long_word, keys, n), "a long word");
    free(long_word);
}

int main(void)
{
    test_positions();
    test_scalars();
    test_errors();
    test_depth();
    test_size_limits();
    test_files();
    test_aliases();
    test_builders();
    test_emit();
    test_overrides();
    test_suggest();
    return check_report("tree");
}

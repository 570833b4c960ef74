/* yaml_write.c: a cfg_node tree as block-style YAML text.
 *
 * Reading the text back gives the same tree: the same structure, the same
 * values and the same plain flags (a quoted "1" comes back quoted, so it
 * stays a string). A plain scalar is written as it is when the reader will
 * see it that way, and double-quoted otherwise; a quoted one is always
 * double-quoted. The writer recurses over the tree, whose depth the parser
 * and the overrides keep within CFG_MAX_DEPTH. */
#include "configs/tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMIT_FLOW_ITEMS 8       /* longest list of scalars written as [a, b] */
#define EMIT_FLOW_CHARS 24      /* longest item in such a list */
#define EMIT_SIMPLE_KEY 128     /* longer keys are written as "? key" (libyaml
                                   reads simple keys of up to 1024 characters,
                                   and escapes can make a key 4 times longer) */

typedef struct {
    char *text;
    size_t len, cap;
    int failed;                 /* out of memory: cfg_emit returns NULL */
} emit_buf;

static void emit_put(emit_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *text = realloc(b->text, cap);
        if (!text) {
            b->failed = 1;
            return;
        }
        b->text = text;
        b->cap = cap;
    }
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
}

static void emit_str(emit_buf *b, const char *s)
{
    emit_put(b, s, strlen(s));
}

static void emit_indent(emit_buf *b, int n)
{
    static const char spaces[] = "                                ";
    for (; n > 0; n -= (int)sizeof spaces - 1)
        emit_put(b, spaces, n < (int)sizeof spaces - 1 ? (size_t)n : sizeof spaces - 1);
}

/* Decodes one UTF-8 character of s[0..n) into *c; returns its length, or
 * 0 for a byte that does not start a valid character. */
static size_t emit_utf8(const unsigned char *s, size_t n, unsigned long *c)
{
    static const unsigned long least[] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
               : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (!len || len > n)
        return 0;
    unsigned long v = len == 1 ? s[0] : s[0] & (0x3Fu >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < least[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *c = v;
    return len;
}

/* Characters that may stand for themselves in a scalar: YAML's printable
 * set less tab, the line breaks (NEL, LS, PS) and the byte-order mark. */
static int emit_is_literal(unsigned long c)
{
    return (c >= 0x20 && c <= 0x7E) || (c >= 0xA0 && c <= 0xD7FF && c != 0x2028 && c != 0x2029) ||
           (c >= 0xE000 && c <= 0xFFFD && c != 0xFEFF) || (c >= 0x10000 && c <= 0x10FFFF);
}

static int emit_is_flow_indicator(unsigned long c)
{
    return c == ',' || c == '[' || c == ']' || c == '{' || c == '}';
}

/* Where a scalar goes: the rules for plain text differ a little. */
typedef enum {
    EMIT_VALUE,     /* after "key:" or "-" */
    EMIT_FLOW,      /* an item of a [a, b] list */
    EMIT_KEY,       /* a simple key, followed by ':' */
    EMIT_ROOT       /* the whole document, at column 0 */
} emit_place;

/* Whether libyaml reads `text`, written plain at `place`, back as the same
 * plain scalar. */
static int emit_plain_ok(const char *text, emit_place place)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text);
    int flow = place == EMIT_FLOW;
    if (!n || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
        return 0;
    /* "-x", and outside flow lists "?x" and ":x", start plain scalars; so
     * do a lone "-" before the ',' or ']' of a flow list and a lone key
     * "-", "?" or ":" before its ':'. */
    if (s[0] == '-' || (!flow && (s[0] == '?' || s[0] == ':'))) {
        if (n == 1 ? place != EMIT_KEY && !flow : s[1] == ' ' || s[1] == '\t')
            return 0;
    } else if (strchr("-?:,[]{}#&*!|>'\"%@`", s[0])) {
        return 0;
    }
    /* Document markers count at column 0, where keys may stand. */
    if ((place == EMIT_KEY || place == EMIT_ROOT) &&
        (!strncmp(text, "---", 3) || !strncmp(text, "...", 3)) && (n == 3 || s[3] == ' '))
        return 0;
    for (size_t i = 0; i < n;) {
        unsigned long c;
        size_t len = emit_utf8(s + i, n - i, &c);
        if (!len || !(emit_is_literal(c) || c == '\t'))
            return 0;
        /* A key's own ':' follows a final one: "a:" is written "a::". */
        if (c == ':' && (flow || (i + 1 == n && place != EMIT_KEY) || s[i + 1] == ' ' ||
                         s[i + 1] == '\t'))
            return 0;
        if (c == '#' && (s[i - 1] == ' ' || s[i - 1] == '\t'))
            return 0;
        if (flow && emit_is_flow_indicator(c))
            return 0;
        i += len;
    }
    return 1;
}

/* Double-quoted with escapes. Bytes that are not UTF-8 (only a builder can
 * make them) are written as \xNN, which reads back as that code point. */
static void emit_quoted(emit_buf *b, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text);
    char esc[16];
    emit_put(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned long c;
        size_t len = emit_utf8(s + i, n - i, &c);
        if (!len) {
            snprintf(esc, sizeof esc, "\\x%02X", s[i]);
            emit_str(b, esc);
            i++;
            continue;
        }
        if (c == '"' || c == '\\') {
            snprintf(esc, sizeof esc, "\\%c", (char)c);
            emit_str(b, esc);
        } else if (c == '\n' || c == '\t' || c == '\r') {
            emit_str(b, c == '\n' ? "\\n" : c == '\t' ? "\\t" : "\\r");
        } else if (emit_is_literal(c)) {
            emit_put(b, text + i, len);
        } else {
            snprintf(esc, sizeof esc, c <= 0xFF ? "\\x%02lX" : "\\u%04lX", c);
            emit_str(b, esc);
        }
        i += len;
    }
    emit_put(b, "\"", 1);
}

/* A plain scalar that cannot be written plain here comes back quoted: a
 * builder's "a: b", a tagged !!int "x y", a lone "-" outside a flow list. */
static void emit_scalar(emit_buf *b, const cfg_node *n, emit_place place)
{
    if (n->plain && emit_plain_ok(n->value, place))
        emit_str(b, n->value);
    else
        emit_quoted(b, n->value);
}

static int emit_flow_ok(const cfg_node *seq)
{
    if (seq->n > EMIT_FLOW_ITEMS)
        return 0;
    for (int i = 0; i < seq->n; i++) {
        const cfg_node *item = seq->items[i];
        if (item->type != CFG_SCALAR || strlen(item->value) > EMIT_FLOW_CHARS ||
            (item->plain && !emit_plain_ok(item->value, EMIT_FLOW)))
            return 0;
    }
    return 1;
}

static void emit_entries(emit_buf *b, const cfg_node *n, int indent, int inline_first);

/* The rest of the line after "key:" or "-", and the lines below it. */
static void emit_child(emit_buf *b, const cfg_node *v, int indent, int in_seq)
{
    if (v->type == CFG_SCALAR) {
        /* An empty plain scalar (null) is written as nothing at all. */
        if (v->plain && !v->value[0]) {
            emit_str(b, "\n");
            return;
        }
        emit_str(b, " ");
        emit_scalar(b, v, EMIT_VALUE);
        emit_str(b, "\n");
    } else if (!v->n) {
        emit_str(b, v->type == CFG_MAP ? " {}\n" : " []\n");
    } else if (v->type == CFG_SEQ && emit_flow_ok(v)) {
        emit_str(b, " [");
        for (int i = 0; i < v->n; i++) {
            if (i)
                emit_str(b, ", ");
            emit_scalar(b, v->items[i], EMIT_FLOW);
        }
        emit_str(b, "]\n");
    } else if (in_seq) {
        emit_str(b, " ");
        emit_entries(b, v, indent + 2, 1);
    } else {
        emit_str(b, "\n");
        emit_entries(b, v, indent + 2, 0);
    }
}

/* The pairs or items of a non-empty collection, each line indented;
 * inline_first: the first one goes on the current line (after "- "). */
static void emit_entries(emit_buf *b, const cfg_node *n, int indent, int inline_first)
{
    for (int i = 0; i < n->n; i++) {
        if (i > 0 || !inline_first)
            emit_indent(b, indent);
        if (n->type == CFG_SEQ) {
            emit_str(b, "-");
            emit_child(b, n->items[i], indent, 1);
            continue;
        }
        const cfg_node *key = n->keys[i];
        /* Long keys, and the empty plain key that has no simple form,
         * are written as "? key" with the value on the next line. */
        if (strlen(key->value) > EMIT_SIMPLE_KEY || (key->plain && !key->value[0])) {
            emit_str(b, "?");
            emit_child(b, key, indent, 0);
            emit_indent(b, indent);
        } else {
            emit_scalar(b, key, EMIT_KEY);
        }
        emit_str(b, ":");
        emit_child(b, n->items[i], indent, 0);
    }
}

char *cfg_emit(const cfg_node *root)
{
    emit_buf b = {0};
    if (root->type == CFG_SCALAR) {
        emit_scalar(&b, root, EMIT_ROOT);
        emit_str(&b, "\n");
    } else if (!root->n) {
        emit_str(&b, root->type == CFG_MAP ? "{}\n" : "[]\n");
    } else {
        emit_entries(&b, root, 0, 0);
    }
    if (b.failed) {
        free(b.text);
        return NULL;
    }
    return b.text;
}

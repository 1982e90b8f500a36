/* common/yaml.c - parses YAML (libyaml events) into a small tree of maps,
 * sequences and scalars that remembers line numbers for error messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "common/common.h"

#define YAML_MAX_DEPTH 64

static ottr_yaml_node *node_new(ottr_yaml_type type, int line)
{
    ottr_yaml_node *n = calloc(1, sizeof(*n));
    if (n) {
        n->type = type;
        n->line = line;
    }
    return n;
}

void ottr_yaml_free(ottr_yaml_node *n)
{
    while (n) {
        ottr_yaml_node *next = n->next;
        ottr_yaml_free(n->child);
        free(n->key);
        free(n->scalar);
        free(n);
        n = next;
    }
}

const ottr_yaml_node *ottr_yaml_get(const ottr_yaml_node *n, const char *key)
{
    if (n == NULL || n->type != OTTR_YAML_MAP)
        return NULL;
    for (const ottr_yaml_node *c = n->child; c; c = c->next)
        if (c->key && strcmp(c->key, key) == 0)
            return c;
    return NULL;
}

typedef struct parse_state {
    yaml_parser_t parser;
    char *err;
    size_t errlen;
} parse_state;

static int next_event(parse_state *ps, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&ps->parser, ev)) {
        snprintf(ps->err, ps->errlen, "line %zu: %s", ps->parser.problem_mark.line + 1,
                 ps->parser.problem ? ps->parser.problem : "syntax error");
        return -1;
    }
    return 0;
}

/* Parses the node that starts with |ev| (consumed). Returns the node or NULL
 * with ps->err set. */
static ottr_yaml_node *parse_node(parse_state *ps, yaml_event_t *ev, int depth)
{
    int line = (int)ev->start_mark.line + 1;
    if (depth > YAML_MAX_DEPTH) {
        snprintf(ps->err, ps->errlen, "line %d: nesting too deep", line);
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        ottr_yaml_node *n = node_new(OTTR_YAML_SCALAR, line);
        if (n == NULL ||
            (n->scalar = strndup((char *)ev->data.scalar.value, ev->data.scalar.length)) == NULL) {
            free(n);
            snprintf(ps->err, ps->errlen, "out of memory");
            return NULL;
        }
        return n;
    }
    case YAML_ALIAS_EVENT:
        snprintf(ps->err, ps->errlen, "line %d: aliases are not supported", line);
        return NULL;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        int is_map = ev->type == YAML_MAPPING_START_EVENT;
        ottr_yaml_node *n = node_new(is_map ? OTTR_YAML_MAP : OTTR_YAML_SEQ, line);
        if (n == NULL) {
            snprintf(ps->err, ps->errlen, "out of memory");
            return NULL;
        }
        ottr_yaml_node **tail = &n->child;
        for (;;) {
            yaml_event_t e;
            if (next_event(ps, &e) != 0)
                goto fail;
            if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&e);
                return n;
            }
            char *key = NULL;
            int keyline = (int)e.start_mark.line + 1;
            if (is_map) {
                if (e.type != YAML_SCALAR_EVENT) {
                    snprintf(ps->err, ps->errlen, "line %d: map keys must be plain scalars",
                             keyline);
                    yaml_event_delete(&e);
                    goto fail;
                }
                key = strndup((char *)e.data.scalar.value, e.data.scalar.length);
                yaml_event_delete(&e);
                if (key == NULL) {
                    snprintf(ps->err, ps->errlen, "out of memory");
                    goto fail;
                }
                for (ottr_yaml_node *c = n->child; c; c = c->next) {
                    if (strcmp(c->key, key) == 0) {
                        snprintf(ps->err, ps->errlen, "line %d: duplicate key \"%s\"", keyline,
                                 key);
                        free(key);
                        goto fail;
                    }
                }
                if (next_event(ps, &e) != 0) {
                    free(key);
                    goto fail;
                }
            }
            ottr_yaml_node *c = parse_node(ps, &e, depth + 1);
            yaml_event_delete(&e);
            if (c == NULL) {
                free(key);
                goto fail;
            }
            if (key) {
                c->key = key;
                c->line = keyline;
            }
            *tail = c;
            tail = &c->next;
        }
    fail:
        ottr_yaml_free(n);
        return NULL;
    }
    default:
        snprintf(ps->err, ps->errlen, "line %d: unexpected YAML event", line);
        return NULL;
    }
}

static int parse_doc(parse_state *ps, ottr_yaml_node **out)
{
    yaml_event_t ev;
    ottr_yaml_node *root = NULL;
    for (;;) {
        if (next_event(ps, &ev) != 0)
            goto fail;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT ||
            t == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        if (root != NULL) {
            snprintf(ps->err, ps->errlen, "line %zu: only one YAML document is allowed",
                     ev.start_mark.line + 1);
            yaml_event_delete(&ev);
            goto fail;
        }
        root = parse_node(ps, &ev, 0);
        yaml_event_delete(&ev);
        if (root == NULL)
            goto fail;
    }
    if (root == NULL) {
        root = node_new(OTTR_YAML_MAP, 1);
        if (root == NULL) {
            snprintf(ps->err, ps->errlen, "out of memory");
            goto fail;
        }
    } else if (root->type == OTTR_YAML_SCALAR && root->scalar[0] == '\0') {
        root->type = OTTR_YAML_MAP;
        free(root->scalar);
        root->scalar = NULL;
    }
    *out = root;
    return 0;
fail:
    ottr_yaml_free(root);
    return -1;
}

int ottr_yaml_parse_string(const char *text, size_t len, ottr_yaml_node **out, char *err,
                           size_t errlen)
{
    parse_state ps = {.err = err, .errlen = errlen};
    if (!yaml_parser_initialize(&ps.parser)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    yaml_parser_set_input_string(&ps.parser, (const unsigned char *)text, len);
    int rc = parse_doc(&ps, out);
    yaml_parser_delete(&ps.parser);
    return rc;
}

int ottr_yaml_parse_file(const char *path, ottr_yaml_node **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    parse_state ps = {.err = err, .errlen = errlen};
    if (!yaml_parser_initialize(&ps.parser)) {
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    yaml_parser_set_input_file(&ps.parser, f);
    char inner[512] = "";
    ps.err = inner;
    ps.errlen = sizeof(inner);
    int rc = parse_doc(&ps, out);
    yaml_parser_delete(&ps.parser);
    fclose(f);
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", path, inner);
    return rc;
}

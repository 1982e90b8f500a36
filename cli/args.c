/* cli/args.c - parses the `ottr` command line: the command, its flags (valid
 * anywhere on the line, `--flag value` or `--flag=value`) and its arguments. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define CMD_BIT(c) (1u << (c))
#define ALL_CMDS   0xffffffffu
#define QUERY_CMDS                                                                                 \
    (CMD_BIT(CLI_CMD_TRACE) | CMD_BIT(CLI_CMD_SEARCH) | CMD_BIT(CLI_CMD_SERVICES) |                \
     CMD_BIT(CLI_CMD_OPERATIONS) | CMD_BIT(CLI_CMD_DEPS))

typedef enum opt_id {
    OPT_SERVER,
    OPT_OTLP,
    OPT_JAEGER,
    OPT_JSON,
    OPT_NO_COLOR,
    OPT_COLOR,
    OPT_WIDTH,
    OPT_TIMEOUT,
    OPT_HELP,
    OPT_VERSION,
    OPT_ATTRS,
    OPT_FILE,
    OPT_DOT,
    OPT_SERVICE,
    OPT_NAME,
    OPT_TAG,
    OPT_MIN,
    OPT_MAX,
    OPT_SINCE,
    OPT_START,
    OPT_END,
    OPT_LIMIT,
    OPT_TRACEQL,
    OPT_CA,
    OPT_CERT,
    OPT_KEY,
    OPT_INSECURE,
    OPT_TOKEN,
    OPT_USER,
    OPT_TENANT,
} opt_id;

static const struct option_def {
    const char *name;
    opt_id id;
    bool has_arg;
    unsigned cmds; /* commands the flag applies to */
} options[] = {
    {"server", OPT_SERVER, true, ALL_CMDS},
    {"otlp-endpoint", OPT_OTLP, true, ALL_CMDS},
    {"jaeger-server", OPT_JAEGER, true, ALL_CMDS},
    {"tenant", OPT_TENANT, true, ALL_CMDS},
    {"no-color", OPT_NO_COLOR, false, ALL_CMDS},
    {"color", OPT_COLOR, false, ALL_CMDS},
    {"timeout", OPT_TIMEOUT, true, ALL_CMDS},
    {"ca", OPT_CA, true, ALL_CMDS},
    {"cert", OPT_CERT, true, ALL_CMDS},
    {"key", OPT_KEY, true, ALL_CMDS},
    {"insecure", OPT_INSECURE, false, ALL_CMDS},
    {"token", OPT_TOKEN, true, ALL_CMDS},
    {"user", OPT_USER, true, ALL_CMDS},
    {"help", OPT_HELP, false, ALL_CMDS},
    {"version", OPT_VERSION, false, ALL_CMDS},
    {"json", OPT_JSON, false, QUERY_CMDS},
    {"width", OPT_WIDTH, true, CMD_BIT(CLI_CMD_TRACE)},
    {"attrs", OPT_ATTRS, false, CMD_BIT(CLI_CMD_TRACE)},
    {"file", OPT_FILE, true, CMD_BIT(CLI_CMD_TRACE)},
    {"dot", OPT_DOT, false, CMD_BIT(CLI_CMD_DEPS)},
    {"service", OPT_SERVICE, true, CMD_BIT(CLI_CMD_SEARCH)},
    {"name", OPT_NAME, true, CMD_BIT(CLI_CMD_SEARCH)},
    {"tag", OPT_TAG, true, CMD_BIT(CLI_CMD_SEARCH)},
    {"min-duration", OPT_MIN, true, CMD_BIT(CLI_CMD_SEARCH)},
    {"max-duration", OPT_MAX, true, CMD_BIT(CLI_CMD_SEARCH)},
    {"since", OPT_SINCE, true, CMD_BIT(CLI_CMD_SEARCH) | CMD_BIT(CLI_CMD_DEPS)},
    {"start", OPT_START, true, CMD_BIT(CLI_CMD_SEARCH) | CMD_BIT(CLI_CMD_DEPS)},
    {"end", OPT_END, true, CMD_BIT(CLI_CMD_SEARCH) | CMD_BIT(CLI_CMD_DEPS)},
    {"limit", OPT_LIMIT, true, CMD_BIT(CLI_CMD_SEARCH)},
    {"traceql", OPT_TRACEQL, true, CMD_BIT(CLI_CMD_SEARCH)},
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static const struct {
    const char *name;
    cli_command cmd;
} commands[] = {
    {"trace", CLI_CMD_TRACE},           {"search", CLI_CMD_SEARCH}, {"services", CLI_CMD_SERVICES},
    {"operations", CLI_CMD_OPERATIONS}, {"deps", CLI_CMD_DEPS},     {"send", CLI_CMD_SEND},
    {"version", CLI_CMD_VERSION},       {"help", CLI_CMD_HELP},     {"passwd", CLI_CMD_PASSWD},
};

cli_command cli_command_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].cmd;
    return CLI_CMD_NONE;
}

/* One flag as given, applied once the command is known. */
typedef struct given_opt {
    const struct option_def *def;
    const char *value;
} given_opt;

void cli_opts_free(cli_opts *o)
{
    free(o->tags);
    free(o->args);
    o->tags = NULL;
    o->args = NULL;
}

static int usage(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int usage(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

static int parse_duration_flag(const char *flag, const char *v, uint64_t *out, char *err,
                               size_t errlen)
{
    if (ottr_parse_duration(v, out) != 0)
        return usage(err, errlen, "--%s: bad duration \"%s\" (want e.g. 250ms, 1.5s, 2h)", flag, v);
    return 0;
}

static int apply_opt(cli_opts *o, const given_opt *g, bool *color_set, const char **since,
                     const char **start, const char **end, char *err, size_t errlen)
{
    const char *v = g->value;
    long n;
    switch (g->def->id) {
    case OPT_SERVER:
        o->server = v;
        break;
    case OPT_OTLP:
        o->otlp_endpoint = v;
        break;
    case OPT_JAEGER:
        o->jaeger_server = v;
        break;
    case OPT_TENANT:
        if (*v == '\0' || strlen(v) > 150 || strpbrk(v, "\r\n") != NULL)
            return usage(err, errlen, "--tenant: want a tenant ID of 1 to 150 characters");
        o->tenant = v;
        break;
    case OPT_JSON:
        o->json = true;
        break;
    case OPT_NO_COLOR:
        o->color = false;
        *color_set = true;
        break;
    case OPT_COLOR:
        o->color = true;
        *color_set = true;
        break;
    case OPT_WIDTH:
        if (cli_parse_int(v, CLI_MIN_WIDTH, CLI_MAX_WIDTH, &n) != 0) {
            snprintf(err, errlen, "--width: want a number of columns from %d to %d, not \"%s\"",
                     CLI_MIN_WIDTH, CLI_MAX_WIDTH, v);
            return CLI_EXIT_USAGE;
        }
        o->width = (int)n;
        break;
    case OPT_TIMEOUT:
        if (parse_duration_flag("timeout", v, &o->timeout_ns, err, errlen))
            return CLI_EXIT_USAGE;
        if (o->timeout_ns < NS_PER_MS)
            return usage(err, errlen, "--timeout: \"%s\" is too short (at least 1ms)", v);
        break;
    case OPT_CA:
        o->ca_file = v;
        break;
    case OPT_CERT:
        o->cert_file = v;
        break;
    case OPT_KEY:
        o->key_file = v;
        break;
    case OPT_INSECURE:
        o->insecure = true;
        break;
    case OPT_TOKEN:
        o->token = v;
        break;
    case OPT_USER:
        if (strchr(v, ':') == NULL)
            return usage(err, errlen, "--user: want USER:PASSWORD");
        o->user = v;
        break;
    case OPT_HELP:
        o->help = true;
        break;
    case OPT_VERSION:
        break; /* handled while scanning */
    case OPT_ATTRS:
        o->attrs = true;
        break;
    case OPT_FILE:
        o->file = v;
        break;
    case OPT_DOT:
        o->dot = true;
        break;
    case OPT_SERVICE:
        o->service = v;
        break;
    case OPT_NAME:
        o->name = v;
        break;
    case OPT_TAG: {
        const char *eq = strchr(v, '=');
        if (eq == NULL || eq == v)
            return usage(err, errlen, "--tag: want key=value, not \"%s\"", v);
        o->tags[o->ntags++] = v;
        break;
    }
    case OPT_MIN:
        if (parse_duration_flag("min-duration", v, &o->min_duration_ns, err, errlen))
            return CLI_EXIT_USAGE;
        o->has_min = true;
        break;
    case OPT_MAX:
        if (parse_duration_flag("max-duration", v, &o->max_duration_ns, err, errlen))
            return CLI_EXIT_USAGE;
        o->has_max = true;
        break;
    case OPT_SINCE:
        *since = v;
        break;
    case OPT_START:
        *start = v;
        break;
    case OPT_END:
        *end = v;
        break;
    case OPT_LIMIT:
        if (cli_parse_int(v, 1, 100000, &n) != 0)
            return usage(err, errlen, "--limit: want a number from 1 to 100000, not \"%s\"", v);
        o->limit = (int)n;
        break;
    case OPT_TRACEQL:
        o->traceql = v;
        break;
    }
    return 0;
}

/* Resolves --since / --start / --end into [start_s, end_s]. */
static int resolve_range(cli_opts *o, const char *since, const char *start, const char *end,
                         uint64_t now_ns, char *err, size_t errlen)
{
    int64_t now_s = (int64_t)(now_ns / NS_PER_SEC);
    if (since != NULL && (start != NULL || end != NULL))
        return usage(err, errlen, "--since cannot be combined with --start/--end");
    if (since != NULL) {
        uint64_t d;
        if (parse_duration_flag("since", since, &d, err, errlen))
            return CLI_EXIT_USAGE;
        o->has_range = true;
        o->end_s = now_s;
        o->start_s = now_s - (int64_t)(d / NS_PER_SEC);
        return 0;
    }
    if (end != NULL && start == NULL)
        return usage(err, errlen, "--end needs --start");
    if (start != NULL) {
        if (cli_parse_time(start, &o->start_s) != 0)
            return usage(err, errlen, "--start: bad time \"%s\" (want RFC 3339 or Unix seconds)",
                         start);
        o->end_s = now_s;
        if (end != NULL && cli_parse_time(end, &o->end_s) != 0)
            return usage(err, errlen, "--end: bad time \"%s\" (want RFC 3339 or Unix seconds)",
                         end);
        if (o->end_s < o->start_s)
            return usage(err, errlen, "--start %s is after --end %s", start, end ? end : "(now)");
        o->has_range = true;
    }
    return 0;
}

static int check_args(cli_opts *o, char *err, size_t errlen)
{
    const char *c = o->cmd_name;
    switch (o->cmd) {
    case CLI_CMD_TRACE:
        if (o->file != NULL && o->nargs == 0)
            return 0;
        if (o->file != NULL)
            return usage(err, errlen, "trace: give a trace ID or --file, not both");
        if (o->nargs != 1)
            return usage(err, errlen, "%s: want one trace ID (see 'ottr help %s')", c, c);
        return 0;
    case CLI_CMD_OPERATIONS:
        if (o->nargs != 1)
            return usage(err, errlen, "%s: want one service name (see 'ottr help %s')", c, c);
        return 0;
    case CLI_CMD_SEND:
        if (o->nargs == 0)
            return usage(err, errlen, "%s: want at least one file (see 'ottr help %s')", c, c);
        return 0;
    case CLI_CMD_PASSWD:
        if (o->nargs != 1)
            return usage(err, errlen, "%s: want one user name (see 'ottr help %s')", c, c);
        return 0;
    case CLI_CMD_HELP:
        if (o->nargs > 1)
            return usage(err, errlen, "help: want at most one command name");
        if (o->nargs == 1 && cli_command_lookup(o->args[0]) == CLI_CMD_NONE)
            return usage(err, errlen, "help: unknown command '%s' (see 'ottr help')", o->args[0]);
        return 0;
    default:
        if (o->nargs != 0)
            return usage(err, errlen, "%s: unexpected argument '%s'", c, o->args[0]);
        return 0;
    }
}

int cli_args_parse(cli_opts *o, int argc, char **argv, uint64_t now_ns, bool stdout_tty, char *err,
                   size_t errlen)
{
    memset(o, 0, sizeof(*o));
    o->server = CLI_DEFAULT_SERVER;
    o->otlp_endpoint = CLI_DEFAULT_OTLP;
    o->timeout_ns = 30 * NS_PER_SEC;
    const char *env = getenv("OTTR_SERVER");
    if (env != NULL && *env != '\0')
        o->server = env;
    env = getenv("OTTR_TENANT");
    if (env != NULL && *env != '\0')
        o->tenant = env;
    env = getenv("OTTR_OTLP_ENDPOINT");
    if (env != NULL && *env != '\0')
        o->otlp_endpoint = env;
    env = getenv("OTTR_JAEGER_SERVER");
    if (env != NULL && *env != '\0')
        o->jaeger_server = env;
    env = getenv("OTTR_TOKEN");
    if (env != NULL && *env != '\0')
        o->token = env;
    env = getenv("OTTR_USER");
    if (env != NULL && strchr(env, ':') != NULL)
        o->user = env;
    env = getenv("NO_COLOR");
    o->color = stdout_tty && (env == NULL || *env == '\0');

    size_t cap = argc > 0 ? (size_t)argc : 1;
    given_opt *given = calloc(cap, sizeof(*given));
    o->tags = calloc(cap, sizeof(*o->tags));
    o->args = calloc(cap, sizeof(*o->args));
    if (given == NULL || o->tags == NULL || o->args == NULL) {
        free(given);
        snprintf(err, errlen, "out of memory");
        return CLI_EXIT_USAGE;
    }
    size_t ngiven = 0;
    bool only_args = false, want_version = false;
    int rc = 0;

    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (only_args || a[0] != '-' || strcmp(a, "-") == 0) {
            if (o->cmd_name == NULL) {
                o->cmd_name = a;
                o->cmd = cli_command_lookup(a);
                if (o->cmd == CLI_CMD_NONE)
                    rc = usage(err, errlen, "unknown command '%s' (see 'ottr help')", a);
            } else {
                o->args[o->nargs++] = a;
            }
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_args = true;
            continue;
        }
        if (strcmp(a, "-h") == 0)
            a = "--help";
        if (a[1] != '-') {
            rc = usage(err, errlen, "unknown option '%s' (see 'ottr help')", a);
            break;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const struct option_def *def = NULL;
        for (size_t k = 0; k < NOPTIONS; k++)
            if (strlen(options[k].name) == nlen && memcmp(options[k].name, name, nlen) == 0)
                def = &options[k];
        if (def == NULL) {
            rc = usage(err, errlen, "unknown option '%s' (see 'ottr help')", a);
            break;
        }
        const char *value = NULL;
        if (def->has_arg) {
            if (eq != NULL) {
                value = eq + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                rc = usage(err, errlen, "option '--%s' needs a value", def->name);
                break;
            }
        } else if (eq != NULL) {
            rc = usage(err, errlen, "option '--%s' takes no value", def->name);
            break;
        }
        if (def->id == OPT_VERSION)
            want_version = true;
        given[ngiven].def = def;
        given[ngiven].value = value;
        ngiven++;
    }

    if (rc == 0 && o->cmd == CLI_CMD_NONE) {
        if (want_version) {
            o->cmd = CLI_CMD_VERSION;
            o->cmd_name = "version";
        } else if (ngiven > 0 && given[0].def->id == OPT_HELP) {
            o->cmd = CLI_CMD_HELP;
            o->cmd_name = "help";
        }
    }

    bool color_set = false;
    const char *since = NULL, *start = NULL, *end = NULL;
    for (size_t k = 0; rc == 0 && k < ngiven; k++) {
        if (o->cmd != CLI_CMD_NONE && !(given[k].def->cmds & CMD_BIT(o->cmd))) {
            rc = usage(err, errlen, "option '--%s' does not apply to '%s'", given[k].def->name,
                       o->cmd_name);
            break;
        }
        rc = apply_opt(o, &given[k], &color_set, &since, &start, &end, err, errlen);
    }
    free(given);
    if (rc != 0 || o->cmd == CLI_CMD_NONE || o->help)
        return rc;

    rc = resolve_range(o, since, start, end, now_ns, err, errlen);
    if (rc == 0 && o->cmd == CLI_CMD_DEPS && !o->has_range) {
        int64_t now_s = (int64_t)(now_ns / NS_PER_SEC);
        o->has_range = true;
        o->end_s = now_s;
        o->start_s = now_s - 24 * 3600;
    }
    if (rc == 0 && o->traceql != NULL && (o->service || o->name || o->ntags > 0))
        rc = usage(err, errlen, "--traceql cannot be combined with --service, --name or --tag");
    if (rc == 0 && o->has_min && o->has_max && o->min_duration_ns > o->max_duration_ns)
        rc = usage(err, errlen, "--min-duration is larger than --max-duration");
    if (rc == 0 && o->json && o->dot)
        rc = usage(err, errlen, "--json and --dot cannot be combined");
    if (rc == 0)
        rc = check_args(o, err, errlen);
    return rc;
}

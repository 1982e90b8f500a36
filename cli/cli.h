/* cli/cli.h - private interfaces of the `ottr` command-line client: exit codes,
 * parsed options, the HTTP client, text helpers, the trace model and the renderers.
 *
 * The client talks to ottrd over HTTP only. Everything but http.c and the
 * command runners (cmd.c, send.c, tags.c, deps.c) is a pure function of its arguments, so that
 * tests/cli/ can check it without a server. */
#ifndef OTTR_CLI_H
#define OTTR_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otlp/otlp.h"

/* ------------------------------------------------------------------ exit codes */

/* The documented exit codes of `ottr` (docs/CLI.md, `ottr help`). */
typedef enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_NOTFOUND = 1,    /* unknown trace, no such service */
    CLI_EXIT_USAGE = 2,       /* bad command line */
    CLI_EXIT_UNREACHABLE = 3, /* cannot connect, timed out, connection dropped */
    CLI_EXIT_SERVER = 4,      /* the server answered 4xx/5xx (other than a meaningful 404) */
    CLI_EXIT_BADDATA = 5,     /* unparsable response or input file, rejected spans */
} cli_exit;

#define CLI_DEFAULT_SERVER "http://localhost:3200"
#define CLI_DEFAULT_OTLP   "http://localhost:4318/v1/traces"
#define CLI_DEFAULT_WIDTH  100 /* waterfall width when stdout is not a terminal */
#define CLI_MIN_WIDTH      40
#define CLI_MAX_WIDTH      1000

/* ------------------------------------------------------------------ options */

typedef enum cli_command {
    CLI_CMD_NONE = 0,
    CLI_CMD_TRACE,
    CLI_CMD_SEARCH,
    CLI_CMD_SERVICES,
    CLI_CMD_OPERATIONS,
    CLI_CMD_DEPS,
    CLI_CMD_SEND,
    CLI_CMD_PASSWD,
    CLI_CMD_VERSION,
    CLI_CMD_HELP,
} cli_command;

/* The command line, parsed. Strings point into argv or the environment; the
 * arrays |tags| and |args| are owned by the struct (cli_opts_free). */
typedef struct cli_opts {
    cli_command cmd;
    const char *cmd_name; /* as typed, for messages */
    bool help;            /* -h / --help: print the command's help */

    const char *server;        /* --server, OTTR_SERVER, or the default */
    const char *otlp_endpoint; /* --otlp-endpoint, OTTR_OTLP_ENDPOINT, or the default */
    const char *jaeger_server; /* --jaeger-server, OTTR_JAEGER_SERVER, or NULL: derived */
    const char *tenant;        /* --tenant, OTTR_TENANT: sent as X-Scope-OrgID; NULL: none */
    bool json;                 /* --json */
    bool color;                /* resolved: terminal, no --no-color, NO_COLOR unset */
    int width;                 /* --width, or 0 for "terminal width or 100" */
    uint64_t timeout_ns;       /* --timeout (default 30s) */
    const char *ca_file;       /* --ca: CA certificates for https; NULL: the system's */
    const char *cert_file;     /* --cert: client certificate (mTLS) */
    const char *key_file;      /* --key: its private key */
    bool insecure;             /* --insecure: do not verify the server's certificate */
    const char *token;         /* --token or OTTR_TOKEN: Authorization: Bearer */
    const char *user;          /* --user or OTTR_USER: USER:PASSWORD for basic auth */

    bool attrs;       /* trace --attrs */
    const char *file; /* trace --file: render a saved JSON trace, no server */
    bool dot;         /* deps --dot */

    const char *service; /* search --service */
    const char *name;    /* search --name */
    const char *traceql; /* search --traceql */
    const char **tags;   /* search --tag k=v, repeatable */
    size_t ntags;
    bool has_min, has_max;
    uint64_t min_duration_ns, max_duration_ns;
    int limit; /* 0 = server default */

    bool has_range; /* search/deps: --since or --start/--end given (deps: always) */
    int64_t start_s, end_s;

    const char **args; /* positional arguments after the command */
    size_t nargs;
} cli_opts;

/* Parses |argv| (argv[0] is the program) into |o|, reading OTTR_SERVER,
 * OTTR_OTLP_ENDPOINT and NO_COLOR from the environment, |now_ns| for --since and
 * |stdout_tty| for colour. Returns CLI_EXIT_OK, or CLI_EXIT_USAGE with a one-line
 * message in |err|. |o| must be freed with cli_opts_free() either way. */
int cli_args_parse(cli_opts *o, int argc, char **argv, uint64_t now_ns, bool stdout_tty, char *err,
                   size_t errlen);
void cli_opts_free(cli_opts *o);
/* The command named |name|, or CLI_CMD_NONE. */
cli_command cli_command_lookup(const char *name);

/* ------------------------------------------------------------------ help */

/* Appends the general help (|cmd| == CLI_CMD_NONE) or a command's help. */
void cli_help_render(cli_command cmd, ottr_buf *out);
void cli_version_render(ottr_buf *out);

/* ------------------------------------------------------------------ text helpers */

/* Humanises a duration to at most 3 significant digits, without trailing zeros:
 * "0s", "850ns", "12.3µs", "1.2ms", "250ms", "2.5s", "1m05s", "3h07m". |out| at
 * least 16 bytes. */
void cli_fmt_duration(uint64_t ns, char *out, size_t outlen);

/* Parses RFC 3339 ("2024-05-01T10:00:00Z", fraction and offsets allowed) or a Unix
 * timestamp (seconds; values that only make sense as ms, µs or ns are taken as
 * such) into Unix seconds. Returns 0 or -1. */
int cli_parse_time(const char *s, int64_t *out_s);

/* Parses a decimal integer in [min, max]. Returns 0 or -1. */
int cli_parse_int(const char *s, long min, long max, long *out);

/* Display columns of UTF-8 text (one per code point; control bytes count 1). */
size_t cli_text_cols(const char *s);

/* Appends |s| sanitised for a terminal (control characters and invalid UTF-8
 * become '?', so untrusted names cannot move the cursor), at most |maxcols|
 * columns. Returns the columns written. */
size_t cli_put_text(ottr_buf *b, const char *s, size_t maxcols);

/* Appends |n| copies of |s|. */
void cli_put_repeat(ottr_buf *b, const char *s, size_t n);

/* Removes trailing spaces from every line of |b| from byte |from| on. */
void cli_rstrip_lines(ottr_buf *b, size_t from);

/* |seq| (an ANSI SGR sequence below) when |color| is on, else "". */
const char *cli_sgr(bool color, const char *seq);
#define CLI_SGR_RESET "\033[0m"
#define CLI_SGR_BOLD  "\033[1m"
#define CLI_SGR_DIM   "\033[2m"
#define CLI_SGR_RED   "\033[1;31m"
/* The SGR sequence of a colour for a service name, stable across runs. */
const char *cli_service_color(const char *service);

/* Percent-encodes |s| for a URL query value (RFC 3986 unreserved kept). */
void cli_url_escape(ottr_buf *b, const char *s);
/* Appends |base| without trailing slashes, adding "http://" when it has no scheme. */
void cli_url_base(ottr_buf *b, const char *base);
/* Appends the Jaeger query API's base: |jaeger| when given, else |server| with its
 * port replaced by 16686 (and its path dropped). */
void cli_jaeger_base(ottr_buf *b, const char *jaeger, const char *server);

/* Normalises a trace ID as Tempo does (hex only, case-insensitive, left-padded to 32
 * digits). Returns 0 or -1 when it is empty, longer than 32 or not hex. |out| 33 bytes. */
int cli_trace_id_norm(const char *in, char *out);

/* ------------------------------------------------------------------ JSON helpers */

struct json_object;

/* Parses exactly |len| bytes of JSON (trailing whitespace allowed). Returns the
 * document (free with json_object_put) or NULL with a message in |err|. */
struct json_object *cli_json_parse(const char *s, size_t len, char *err, size_t errlen);
/* Member |camel| of object |o|, else member |snake| (may be NULL), else NULL. */
struct json_object *cli_jget(struct json_object *o, const char *camel, const char *snake);
/* The string member, or |dflt| when missing or not a string. */
const char *cli_jstr(struct json_object *o, const char *camel, const char *snake, const char *dflt);
/* An unsigned 64-bit number given as a JSON number or decimal string. Returns 0,
 * or -1 (|*out| = 0) when missing or malformed. */
int cli_ju64(struct json_object *v, uint64_t *out);
/* A number given as a JSON number or a numeric string, or |dflt|. */
double cli_jdouble(struct json_object *v, double dflt);

/* ------------------------------------------------------------------ tables */

/* A text table: columns sized to their widest cell (up to a per-column cap, past
 * which cells are cut with an ellipsis), separated by two spaces. */
typedef struct cli_table {
    size_t ncols;
    const char *const *titles;
    const bool *right;   /* right-align column i */
    const size_t *maxw;  /* column i's cap in columns, 0 = none; may be NULL */
    char **cells;        /* nrows * ncols copies, owned */
    const char **colors; /* nrows * ncols SGR sequences or NULL, static strings */
    size_t nrows, caprows;
    int oom;
} cli_table;

void cli_table_init(cli_table *t, size_t ncols, const char *const *titles, const bool *right,
                    const size_t *maxw);
/* Adds a row of |ncols| cells (copied); |colors| may be NULL. */
void cli_table_add(cli_table *t, const char *const *cells, const char *const *colors);
/* Appends the header and rows. Returns 0, or -1 when a row could not be stored. */
int cli_table_render(const cli_table *t, bool color, ottr_buf *out);
void cli_table_free(cli_table *t);

/* ------------------------------------------------------------------ HTTP */

typedef struct cli_http_resp {
    long status;      /* HTTP status */
    ottr_buf body;    /* the body, decompressed; owned, free with cli_http_resp_free */
    char ctype[128];  /* Content-Type, lower case, or "" */
    long retry_after; /* Retry-After in seconds, or -1 */
} cli_http_resp;

/* Performs a request against |url| with |o|'s timeout. |body| NULL means GET.
 * Returns CLI_EXIT_OK when a response arrived (whatever its status), or
 * CLI_EXIT_UNREACHABLE (cannot connect, timeout, dropped connection),
 * CLI_EXIT_USAGE (malformed URL) or CLI_EXIT_BADDATA (response too large) with
 * a one-line message in |err| that names |what| ("ottrd", "the OTLP receiver");
 * |hint| (may be NULL) is appended when nothing listens at the address. */
int cli_http_request(const cli_opts *o, const char *what, const char *hint, const char *url,
                     const char *accept, const char *ctype, const char *encoding, const void *body,
                     size_t len, cli_http_resp *resp, char *err, size_t errlen);
void cli_http_resp_free(cli_http_resp *r);

/* Turns a non-2xx response into an exit code and message: 404 gives
 * CLI_EXIT_NOTFOUND, every other failure CLI_EXIT_SERVER with the status and the
 * first line of the body. Returns CLI_EXIT_OK for 2xx. */
int cli_http_check(const cli_http_resp *r, const char *url, char *err, size_t errlen);

/* ------------------------------------------------------------------ trace model */

/* One span as `ottr trace` shows it: the span decoded by otlp/ and what the
 * drawing needs. */
typedef struct cli_span {
    const otlp_span_ref *ref; /* the span, its resource and scope; lives in the trace */
    char span_id[17];         /* lower-case hex, "" when missing or not 8 bytes */
    char parent_id[17];       /* "" for a root, or a parent ID that is not 8 bytes */
    const char *service;
    const char *name;
    const char *scope;         /* instrumentation scope name, or "" */
    const char *status_msg;    /* or "" */
    int kind;                  /* OTLP SpanKind number */
    int status;                /* OTLP StatusCode number */
    uint64_t start_ns, end_ns; /* end_ns >= start_ns */

    /* the tree: indices into cli_trace.spans, SIZE_MAX for none */
    size_t parent, first_child, next_sibling;
    bool orphan; /* top level although it names a parent (missing, invalid, or cut from a
                  * parent cycle) */
    bool dup;    /* a second span with an ID already seen */
} cli_span;

/* A trace decoded from OTLP JSON with its tree (otlp/), and its presentation.
 * Everything lives in |arena|. */
typedef struct cli_trace {
    ottr_arena arena;
    otlp_trace otlp; /* the decoded spans with otlp_trace_build_tree's tree */
    cli_span *spans; /* as otlp.spans, in document order */
    size_t nspans;
    size_t first_top; /* first top-level span (roots, then orphans), by start time */
    char trace_id[33];
    uint64_t start_ns, end_ns;
    size_t nservices, nerrors, norphans;
} cli_trace;

/* Parses a trace in OTLP JSON (top-level "resourceSpans", Tempo's "batches", or
 * {"trace":{...}}; see otlp_json_decode_traces) and builds the tree
 * (otlp_trace_build_tree): children sorted by start time, then span ID; spans
 * whose parent is missing, and the span whose parent link was cut to break a
 * cycle, are orphans at top level. Returns CLI_EXIT_OK (perhaps with no spans) or
 * CLI_EXIT_BADDATA with |err|. On success the caller frees |*out| with
 * cli_trace_free(). */
int cli_trace_parse(const char *json, size_t len, cli_trace **out, char *err, size_t errlen);
void cli_trace_free(cli_trace *t);

typedef struct cli_render_opts {
    int width;  /* total columns (>= CLI_MIN_WIDTH) */
    bool color; /* ANSI colours */
    bool attrs; /* show attributes, events and links */
} cli_render_opts;

/* Appends the trace as a header, then one line per span: error marker, tree,
 * "service: name", start offset, duration and a waterfall bar. Deterministic for
 * a given input and options. */
void cli_trace_render(const cli_trace *t, const cli_render_opts *r, ottr_buf *out);

/* Appends an OTLP AnyValue for humans: strings quoted, arrays in [], key-value
 * lists in {}, bytes as hex, NULL or unset as null. */
void cli_anyvalue_render(const otlp_any *v, ottr_buf *out);

/* Rewrites a trace document's ResourceSpans array (Tempo's {"batches":[...]},
 * {"trace":{...}}, ...) as OTLP JSON {"resourceSpans":[...]}, pretty-printed.
 * Returns CLI_EXIT_OK or CLI_EXIT_BADDATA. */
int cli_trace_to_otlp_json(const char *json, size_t len, ottr_buf *out, char *err, size_t errlen);

/* ------------------------------------------------------------------ search */

/* Builds the TraceQL query for search's filter flags, or copies --traceql. With no
 * filter at all the query is "{}". Returns 0 or CLI_EXIT_USAGE (bad --tag). */
int cli_traceql_build(const cli_opts *o, ottr_buf *out, char *err, size_t errlen);

/* Appends the search URL path and query string for |o| (after the server base). */
int cli_search_path(const cli_opts *o, ottr_buf *out, char *err, size_t errlen);

/* Renders Tempo's search response as a table; |*ntraces| gets the row count.
 * Returns CLI_EXIT_OK or CLI_EXIT_BADDATA. */
int cli_search_render(const char *json, size_t len, const cli_render_opts *r, ottr_buf *out,
                      size_t *ntraces, char *err, size_t errlen);

/* ------------------------------------------------------------------ tag values */

/* Parses {"tagValues":[...]} (v2 objects with "value", or v1 strings), or Jaeger's
 * {"data":[...]}, into a
 * sorted, de-duplicated list, one value per line in |out| (or a JSON array when
 * |json|). |*n| gets the count. Returns CLI_EXIT_OK or CLI_EXIT_BADDATA. */
int cli_tag_values_render(const char *body, size_t len, bool json, ottr_buf *out, size_t *n,
                          char *err, size_t errlen);

/* ------------------------------------------------------------------ dependencies */

/* Renders the native service graph ({"nodes":[...],"edges":[...]}) as a table
 * (client → server, type, calls, errors, error %, p95) or as Graphviz DOT.
 * |*nedges| gets the edge count. Returns CLI_EXIT_OK or CLI_EXIT_BADDATA. */
int cli_deps_render(const char *json, size_t len, bool dot, const cli_render_opts *r, ottr_buf *out,
                    size_t *nedges, char *err, size_t errlen);

/* ------------------------------------------------------------------ send */

typedef struct cli_payload {
    const char *ctype;  /* "application/json" or "application/x-protobuf" */
    bool gzip;          /* the bytes are gzip: send with Content-Encoding: gzip */
    size_t nspans;      /* spans in the request */
    ottr_buf rewritten; /* a JSON body rewritten from Tempo's "batches", or empty */
} cli_payload;

/* Works out how to send a file: gzip by magic; JSON when the name ends in .json
 * (or .json.gz) or the content starts with '{', else protobuf; checks that it
 * decodes as an ExportTraceServiceRequest and counts its spans. Returns
 * CLI_EXIT_OK, or CLI_EXIT_BADDATA with |err| (also for an empty file or a
 * request without spans). Free with cli_payload_free() either way. */
int cli_payload_inspect(const char *path, const uint8_t *data, size_t len, cli_payload *p,
                        char *err, size_t errlen);
void cli_payload_free(cli_payload *p);

/* Reads a receiver's reply, in JSON or protobuf by |ctype|: for a success the
 * rejected spans and message of a partial success, for an error (|is_error|) the
 * google.rpc.Status message. An empty body is a reply with nothing to say.
 * Returns 0, or -1 when the body does not decode. */
int cli_export_reply_parse(const char *ctype, const char *body, size_t len, bool is_error,
                           int64_t *rejected, char *msg, size_t msglen);

/* ------------------------------------------------------------------ commands */

/* Each runs one command, writing results to stdout and a single error line to
 * stderr; returns an exit code. */
int cli_cmd_trace(const cli_opts *o);
int cli_cmd_search(const cli_opts *o);
int cli_cmd_services(const cli_opts *o);
int cli_cmd_operations(const cli_opts *o);
int cli_cmd_deps(const cli_opts *o);
int cli_cmd_send(const cli_opts *o);
int cli_cmd_passwd(const cli_opts *o);

/* The whole program: parse, dispatch, report. */
int cli_run(int argc, char **argv);

/* Prints "ottr: <msg>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reads a whole file, or stdin for "-", into |out|. Returns 0 or -1 with |err|. */
int cli_read_file(const char *path, ottr_buf *out, char *err, size_t errlen);
/* Writes |b| to stdout; returns CLI_EXIT_OK or CLI_EXIT_BADDATA on out of memory. */
int cli_write_stdout(const ottr_buf *b);

#endif /* OTTR_CLI_H */

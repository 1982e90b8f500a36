/* cli/help.c - the help texts and version of `ottr`. */
#include "cli/cli.h"

static const char general[] =
    "ottr - query and feed an Ottr trace store (ottrd) over its HTTP API\n"
    "\n"
    "Usage: ottr COMMAND [ARGUMENTS] [FLAGS]\n"
    "\n"
    "Commands:\n"
    "  trace ID            show a trace as a tree with a waterfall\n"
    "  search              find traces by service, span name, tags, duration, time\n"
    "  services            list the services that sent spans\n"
    "  operations SERVICE  list the span names of a service\n"
    "  deps                the service dependency map, as a table or Graphviz DOT\n"
    "  send FILE...        send OTLP JSON or protobuf files to the OTLP/HTTP receiver\n"
    "  passwd USER         print a users-file line for basic authentication\n"
    "  version             print the version\n"
    "  help [COMMAND]      this help, or the help of a command\n"
    "\n"
    "Flags for every command (they may come anywhere on the line):\n"
    "  --server URL         ottrd's query API (default " CLI_DEFAULT_SERVER ",\n"
    "                       or $OTTR_SERVER)\n"
    "  --otlp-endpoint URL  the OTLP/HTTP traces endpoint for send\n"
    "                       (default " CLI_DEFAULT_OTLP ", or $OTTR_OTLP_ENDPOINT)\n"
    "  --jaeger-server URL  ottrd's Jaeger API, used by operations (default: the\n"
    "                       host of --server on port 16686, or $OTTR_JAEGER_SERVER)\n"
    "  --tenant ID          send X-Scope-OrgID: ID, for a daemon with\n"
    "                       multitenancy_enabled (or $OTTR_TENANT)\n"
    "  --timeout D          give up on the server after D (default 30s)\n"
    "  --ca FILE            CA certificates that sign the server's (https URLs)\n"
    "  --cert FILE          client certificate for servers that ask for one (mTLS)\n"
    "  --key FILE           the private key of --cert\n"
    "  --insecure           do not verify the server's certificate\n"
    "  --token T            send Authorization: Bearer T (or $OTTR_TOKEN)\n"
    "  --user U:P           basic authentication (or $OTTR_USER)\n"
    "  --no-color           no colours; they are used only when stdout is a terminal\n"
    "                       and NO_COLOR is unset (--color forces them)\n"
    "  -h, --help           help for the command\n"
    "\n"
    "Durations are Go-style (250ms, 1.5s, 2h45m); times are RFC 3339\n"
    "(2024-05-01T10:00:00Z) or Unix seconds.\n"
    "\n"
    "Exit codes:\n"
    "  0  success\n"
    "  1  not found: unknown trace, or a service without operations\n"
    "  2  usage error: bad command, flag or argument\n"
    "  3  server unreachable: connection refused, no answer in time, connection dropped\n"
    "  4  the server answered with an error (HTTP 4xx/5xx)\n"
    "  5  bad data: unparsable answer or input file, or spans rejected by the receiver\n";

static const char help_trace[] =
    "Usage: ottr trace ID [--attrs] [--json] [--width N]\n"
    "       ottr trace --file FILE [--attrs] [--json] [--width N]\n"
    "\n"
    "Shows a trace as a tree: one line per span with its service and name, its start\n"
    "offset from the beginning of the trace, its duration and a waterfall bar.\n"
    "Children are sorted by start time. Spans with an error status are marked '!'\n"
    "(and red on a terminal). Spans whose parent is missing are shown at the top\n"
    "level, marked \"(orphan)\".\n"
    "\n"
    "ID is up to 32 hex digits (shorter IDs are left-padded with zeros).\n"
    "\n"
    "Flags:\n"
    "  --attrs      also show each span's ID, kind, status, attributes, events (with\n"
    "               their offset from the start of the trace) and links\n"
    "  --json       print the trace as OTLP JSON ({\"resourceSpans\": [...]}), which\n"
    "               `ottr send` accepts back\n"
    "  --width N    total width in columns (default: the terminal's, or 100 when\n"
    "               stdout is not a terminal)\n"
    "  --file FILE  render a trace saved as JSON (\"-\" for stdin) without a server\n"
    "\n"
    "Exits 1 when the trace is not found.\n";

static const char help_search[] =
    "Usage: ottr search [--service S] [--name N] [--tag KEY=VALUE]...\n"
    "                   [--min-duration D] [--max-duration D]\n"
    "                   [--since D | --start T [--end T]] [--limit N] [--json]\n"
    "       ottr search --traceql QUERY [--since D | --start T [--end T]] [--limit N]\n"
    "\n"
    "Finds traces and prints one line per trace: trace ID, root service, root span\n"
    "name, start, duration, span count and error count.\n"
    "\n"
    "Flags:\n"
    "  --service S        a span of the trace comes from service S\n"
    "  --name N           a span of the trace is named N\n"
    "  --tag KEY=VALUE    a span, or its resource, has attribute KEY equal to VALUE\n"
    "                     (repeatable); prefix KEY with \"span.\" or \"resource.\" to pick\n"
    "                     one; status=error and kind=server compare the span's status\n"
    "                     and kind\n"
    "  --min-duration D   the trace lasted at least D\n"
    "  --max-duration D   the trace lasted at most D\n"
    "  --since D          traces of the last D (e.g. 1h)\n"
    "  --start T, --end T traces between T and T (--end defaults to now)\n"
    "  --limit N          at most N traces (server default 20)\n"
    "  --traceql QUERY    a TraceQL query, sent as is, instead of the filters above\n"
    "  --json             print the server's answer as JSON\n"
    "\n"
    "The filters become one TraceQL query, e.g.\n"
    "  {resource.service.name=\"checkout\" && name=\"GET /cart\" && .http.method=\"GET\"}\n"
    "Finding nothing is not an error (exit 0, \"no traces found\" on stderr).\n";

static const char help_services[] = "Usage: ottr services [--json]\n"
                                    "\n"
                                    "Lists the services that sent spans, one per line, sorted.\n"
                                    "--json prints a JSON array of names.\n";

static const char help_operations[] =
    "Usage: ottr operations SERVICE [--json]\n"
    "\n"
    "Lists the span names of SERVICE, one per line, sorted. --json prints a JSON array.\n"
    "Exits 1 when the service has none (or does not exist).\n"
    "\n"
    "The names come from ottrd's Jaeger API: --jaeger-server URL (or\n"
    "$OTTR_JAEGER_SERVER), by default the host of --server on port 16686.\n";

static const char help_deps[] =
    "Usage: ottr deps [--since D | --start T [--end T]] [--dot | --json]\n"
    "\n"
    "Shows which services call which, from the service graph ottrd derives from every\n"
    "span (sampled or not): one line per edge with client, server, connection type\n"
    "(when known), calls, errors, error rate and 95th percentile latency.\n"
    "\n"
    "Flags:\n"
    "  --since D   the last D (default 24h)\n"
    "  --start T, --end T  an explicit time range\n"
    "  --dot       print Graphviz DOT instead: ottr deps --dot | dot -Tsvg > deps.svg\n"
    "  --json      print the server's answer as JSON\n";

static const char help_send[] =
    "Usage: ottr send FILE... [--otlp-endpoint URL]\n"
    "\n"
    "Sends each file as one OTLP/HTTP export request and prints how many spans the\n"
    "receiver accepted. Files ending in .json, or starting with '{', are OTLP JSON;\n"
    "others are OTLP protobuf (ExportTraceServiceRequest). Gzip files are sent\n"
    "compressed. Tempo's trace JSON ({\"batches\": [...]}) is accepted too, so\n"
    "`ottr trace ID --json` output can be sent back. \"-\" reads stdin.\n"
    "\n"
    "Exits 5 when a file is not OTLP or the receiver rejected spans, 4 when it answered\n"
    "with an error, 3 when it cannot be reached.\n";

static const char help_passwd[] =
    "Usage: ottr passwd USER\n"
    "\n"
    "Reads a password from stdin (without echo on a terminal) and prints the line\n"
    "USER:HASH (bcrypt) for the users file of a port with auth.type basic; append\n"
    "\":TENANT\" to bind the user to a tenant (docs/SECURITY.md).\n";

static const char help_version[] = "Usage: ottr version\n\nPrints the version of ottr.\n";

static const char help_help[] = "Usage: ottr help [COMMAND]\n\nPrints the help of ottr or of "
                                "a command.\n";

void cli_help_render(cli_command cmd, ottr_buf *out)
{
    switch (cmd) {
    case CLI_CMD_TRACE:
        ottr_buf_puts(out, help_trace);
        break;
    case CLI_CMD_SEARCH:
        ottr_buf_puts(out, help_search);
        break;
    case CLI_CMD_SERVICES:
        ottr_buf_puts(out, help_services);
        break;
    case CLI_CMD_OPERATIONS:
        ottr_buf_puts(out, help_operations);
        break;
    case CLI_CMD_DEPS:
        ottr_buf_puts(out, help_deps);
        break;
    case CLI_CMD_SEND:
        ottr_buf_puts(out, help_send);
        break;
    case CLI_CMD_PASSWD:
        ottr_buf_puts(out, help_passwd);
        break;
    case CLI_CMD_VERSION:
        ottr_buf_puts(out, help_version);
        break;
    case CLI_CMD_HELP:
        ottr_buf_puts(out, help_help);
        break;
    default:
        ottr_buf_puts(out, general);
        break;
    }
    if (cmd != CLI_CMD_NONE)
        ottr_buf_puts(out, "\nSee 'ottr help' for the flags of every command and the exit "
                           "codes.\n");
}

void cli_version_render(ottr_buf *out)
{
    ottr_buf_puts(out, "ottr " OTTR_VERSION " (revision " OTTR_REVISION ")\n");
}

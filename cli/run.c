/* cli/run.c - the `ottr` program: parses the command line and runs the
 * command, with one place that decides what goes to stdout and stderr. */
#include <stdio.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli/cli.h"

static int print_help(cli_command cmd, FILE *to)
{
    ottr_buf b = {0};
    cli_help_render(cmd, &b);
    if (b.len > 0)
        fwrite(b.data, 1, b.len, to);
    ottr_buf_free(&b);
    return CLI_EXIT_OK;
}

static int dispatch(const cli_opts *o)
{
    switch (o->cmd) {
    case CLI_CMD_TRACE:
        return cli_cmd_trace(o);
    case CLI_CMD_SEARCH:
        return cli_cmd_search(o);
    case CLI_CMD_SERVICES:
        return cli_cmd_services(o);
    case CLI_CMD_OPERATIONS:
        return cli_cmd_operations(o);
    case CLI_CMD_DEPS:
        return cli_cmd_deps(o);
    case CLI_CMD_SEND:
        return cli_cmd_send(o);
    case CLI_CMD_PASSWD:
        return cli_cmd_passwd(o);
    default:
        return CLI_EXIT_USAGE;
    }
}

int cli_run(int argc, char **argv)
{
    cli_opts o;
    char err[512];
    int rc =
        cli_args_parse(&o, argc, argv, ottr_now_ns(), isatty(STDOUT_FILENO) == 1, err, sizeof(err));
    if (rc != CLI_EXIT_OK) {
        cli_error("%s", err);
    } else if (o.cmd == CLI_CMD_NONE) {
        print_help(CLI_CMD_NONE, stderr);
        rc = CLI_EXIT_USAGE;
    } else if (o.help) {
        rc = print_help(o.cmd == CLI_CMD_HELP ? CLI_CMD_NONE : o.cmd, stdout);
    } else if (o.cmd == CLI_CMD_HELP) {
        rc = print_help(o.nargs ? cli_command_lookup(o.args[0]) : CLI_CMD_NONE, stdout);
    } else if (o.cmd == CLI_CMD_VERSION) {
        ottr_buf b = {0};
        cli_version_render(&b);
        rc = cli_write_stdout(&b);
        ottr_buf_free(&b);
    } else if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        cli_error("cannot initialise libcurl");
        rc = CLI_EXIT_UNREACHABLE;
    } else {
        rc = dispatch(&o);
        curl_global_cleanup();
    }
    cli_opts_free(&o);
    return rc;
}

/* cli/main.c - entry point of the `ottr` command-line client. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cli_run(argc, argv);
}

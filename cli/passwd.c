/* cli/passwd.c - `ottr passwd USER`: reads a password (without echo on a
 * terminal) and prints the users-file line "USER:HASH" that basic authentication
 * of ottrd verifies, HASH being bcrypt from crypt(3). */
#include <crypt.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"

#define BCRYPT_COST 12

/* Reads one line of stdin into |out| without its newline; no echo on a terminal.
 * Returns 0, or -1 at the end of input or when it does not fit. */
static int read_password(char *out, size_t outlen)
{
    struct termios old, quiet;
    int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        fputs("Password: ", stderr);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *got = fgets(out, (int)outlen, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (got == NULL)
        return -1;
    size_t n = strcspn(out, "\r\n");
    if (out[n] == '\0' && n + 1 == outlen)
        return -1;
    out[n] = '\0';
    return 0;
}

int cli_cmd_passwd(const cli_opts *o)
{
    const char *user = o->args[0];
    if (user[0] == '\0' || strpbrk(user, ": \t") != NULL) {
        cli_error("passwd: a user name cannot be empty or hold ':' or blanks");
        return CLI_EXIT_USAGE;
    }
    char pw[1024], salt[64];
    struct crypt_data cd;
    memset(&cd, 0, sizeof(cd));
    if (read_password(pw, sizeof(pw)) != 0 || pw[0] == '\0') {
        cli_error("passwd: no password on stdin");
        return CLI_EXIT_USAGE;
    }
    const char *hash = NULL;
    if (crypt_gensalt_rn("$2b$", BCRYPT_COST, NULL, 0, salt, sizeof(salt)) != NULL)
        hash = crypt_r(pw, salt, &cd);
    memset(pw, 0, sizeof(pw));
    if (hash == NULL || hash[0] == '*') {
        cli_error("passwd: crypt(3) failed");
        return CLI_EXIT_BADDATA;
    }
    printf("%s:%s\n", user, hash);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_BADDATA;
}

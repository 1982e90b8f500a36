/* query/admin.c - administrative operations served on the query port: an
 * online checkpoint (consistent copy) of the store. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "otlp/otlp.h"
#include "query/query.h"

/* Why |dir| is not a plain absolute path, or NULL. Plain: starts with '/', no
 * control characters (a newline would forge log lines and confuse scripts that
 * read paths line by line), and no "." or ".." components (the path names the
 * directory it reads as, not one reached by climbing out of another). */
static const char *path_problem(const char *dir, size_t n)
{
    if (dir[0] != '/' || n >= 4096)
        return "want an absolute path";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)dir[i] < 0x20 || dir[i] == 0x7f)
            return "control characters are not allowed";
    for (const char *c = dir; *c;) {
        while (*c == '/')
            c++;
        size_t len = strcspn(c, "/");
        if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
            return "\".\" and \"..\" components are not allowed";
        c += len;
    }
    return NULL;
}

ottr_status query_admin_checkpoint(store *st, const char *dir, ottr_buf *out, char *err,
                                   size_t errlen)
{
    if (dir == NULL || dir[0] == '\0') {
        snprintf(err, errlen, "parameter 'dir' is required");
        return OTTR_ERR_INVALID;
    }
    size_t n = strlen(dir);
    const char *problem = path_problem(dir, n);
    if (problem) {
        /* The path itself is not echoed: it may hold control characters. */
        snprintf(err, errlen, "invalid dir: %s", problem);
        return OTTR_ERR_INVALID;
    }
    struct stat sb;
    if (lstat(dir, &sb) == 0) {
        snprintf(err, errlen, "dir \"%.128s\" already exists", dir);
        return OTTR_ERR_EXISTS;
    }
    if (errno != ENOENT) {
        snprintf(err, errlen, "invalid dir \"%.128s\": %s", dir, strerror(errno));
        return OTTR_ERR_INVALID;
    }
    /* The parent must be an existing directory. */
    char parent[4096];
    memcpy(parent, dir, n + 1);
    while (n > 1 && parent[n - 1] == '/')
        parent[--n] = '\0';
    char *slash = strrchr(parent, '/');
    if (slash == parent)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    if (stat(parent, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "invalid dir \"%.128s\": parent directory %.128s does not exist", dir,
                 parent);
        return OTTR_ERR_INVALID;
    }
    char serr[256] = "";
    ottr_status s = store_checkpoint(st, dir, serr, sizeof(serr));
    if (s != OTTR_OK) {
        snprintf(err, errlen, "checkpoint failed: %s", serr[0] ? serr : ottr_status_str(s));
        return s;
    }
    ottr_buf_puts(out, "{\"dir\":");
    otlp_json_str(out, dir);
    ottr_buf_puts(out, "}");
    if (out->oom) {
        snprintf(err, errlen, "out of memory");
        return OTTR_ERR_NOMEM;
    }
    return OTTR_OK;
}

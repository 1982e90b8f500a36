/* common/json_indent.c - re-indents compact JSON text the way Go's
 * json.MarshalIndent lays it out (one member or element a line, "key": value,
 * empty arrays and objects kept as [] and {}), for APIs with a prettyPrint
 * switch. */
#include "common/common.h"

static void newline(ottr_buf *out, const char *indent, int depth)
{
    ottr_buf_putc(out, '\n');
    for (int i = 0; i < depth; i++)
        ottr_buf_puts(out, indent);
}

void ottr_json_indent(ottr_buf *out, const char *in, size_t n, const char *indent)
{
    int depth = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        switch (c) {
        case '"': {
            /* A string, escapes and all. */
            size_t j = i + 1;
            while (j < n && in[j] != '"')
                j += in[j] == '\\' ? 2 : 1;
            if (j >= n)
                j = n - 1;
            ottr_buf_append(out, in + i, j - i + 1);
            i = j;
            break;
        }
        case '{':
        case '[':
            if (i + 1 < n && in[i + 1] == (c == '{' ? '}' : ']')) {
                ottr_buf_putc(out, c);
                ottr_buf_putc(out, in[++i]);
                break;
            }
            ottr_buf_putc(out, c);
            newline(out, indent, ++depth);
            break;
        case '}':
        case ']':
            newline(out, indent, depth > 0 ? --depth : 0);
            ottr_buf_putc(out, c);
            break;
        case ',':
            ottr_buf_putc(out, c);
            newline(out, indent, depth);
            break;
        case ':':
            ottr_buf_puts(out, ": ");
            break;
        case ' ':
        case '\n':
        case '\t':
        case '\r':
            break;
        default:
            ottr_buf_putc(out, c);
        }
    }
}

/* collector/metrics_process.c - the /metrics page: the registry plus the
 * standard process_* metrics read from /proc. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "collector/collector.h"

static double start_time_seconds;

static void render_process(ottr_buf *out)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
        ottr_buf_printf(out,
                        "# HELP process_cpu_seconds_total Total user and system CPU time spent "
                        "in seconds.\n# TYPE process_cpu_seconds_total counter\n"
                        "process_cpu_seconds_total %.6f\n",
                        cpu);
    }
    long pagesize = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        unsigned long size = 0, resident = 0;
        if (fscanf(f, "%lu %lu", &size, &resident) == 2) {
            ottr_buf_printf(out,
                            "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
                            "# TYPE process_virtual_memory_bytes gauge\n"
                            "process_virtual_memory_bytes %lu\n"
                            "# HELP process_resident_memory_bytes Resident memory size in "
                            "bytes.\n# TYPE process_resident_memory_bytes gauge\n"
                            "process_resident_memory_bytes %lu\n",
                            size * (unsigned long)pagesize, resident * (unsigned long)pagesize);
        }
        fclose(f);
    }
    int fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.')
                fds++;
        closedir(d);
        ottr_buf_printf(out,
                        "# HELP process_open_fds Number of open file descriptors.\n"
                        "# TYPE process_open_fds gauge\nprocess_open_fds %d\n",
                        fds - 1 /* the one opendir used */);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        ottr_buf_printf(out,
                        "# HELP process_max_fds Maximum number of open file descriptors.\n"
                        "# TYPE process_max_fds gauge\nprocess_max_fds %llu\n",
                        (unsigned long long)rl.rlim_cur);
    }
    if (start_time_seconds == 0)
        start_time_seconds = (double)ottr_now_ns() / NS_PER_SEC;
    ottr_buf_printf(out,
                    "# HELP process_start_time_seconds Start time of the process since unix "
                    "epoch in seconds.\n# TYPE process_start_time_seconds gauge\n"
                    "process_start_time_seconds %.3f\n",
                    start_time_seconds);
    ottr_buf_printf(out,
                    "# HELP ottr_build_info Version of this ottrd.\n# TYPE ottr_build_info "
                    "gauge\nottr_build_info{version=\"%s\",revision=\"%s\"} 1\n",
                    OTTR_VERSION, OTTR_REVISION);
}

void metrics_render_all(ottr_buf *out)
{
    ottr_metrics_render(out);
    render_process(out);
}

/* Called early in main so the start time is the process's, not the first scrape's. */
void metrics_process_init(void)
{
    start_time_seconds = (double)ottr_now_ns() / NS_PER_SEC;
}

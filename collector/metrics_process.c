/* collector/metrics_process.c - the /metrics page: the registry plus the
 * standard process_* metrics read from /proc. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "collector/collector.h"

static double start_time_seconds;

static void gauge(ottr_buf *out, const char *name, const char *help, const char *labels, uint64_t v)
{
    ottr_prom_family(out, name, help, "gauge");
    ottr_prom_sample_u64(out, name, labels, v);
}

static void render_process(ottr_buf *out)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
        ottr_prom_family(out, "process_cpu_seconds_total",
                         "Total user and system CPU time spent in seconds.", "counter");
        ottr_prom_sample(out, "process_cpu_seconds_total", NULL, cpu);
    }
    long pagesize = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        unsigned long size = 0, resident = 0;
        if (fscanf(f, "%lu %lu", &size, &resident) == 2) {
            gauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", NULL,
                  (uint64_t)size * (uint64_t)pagesize);
            gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.", NULL,
                  (uint64_t)resident * (uint64_t)pagesize);
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
        gauge(out, "process_open_fds", "Number of open file descriptors.", NULL,
              (uint64_t)(fds - 1) /* the one opendir used */);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        gauge(out, "process_max_fds", "Maximum number of open file descriptors.", NULL,
              (uint64_t)rl.rlim_cur);
    if (start_time_seconds == 0)
        start_time_seconds = (double)ottr_now_ns() / NS_PER_SEC;
    ottr_prom_family(out, "process_start_time_seconds",
                     "Start time of the process since unix epoch in seconds.", "gauge");
    ottr_prom_sample(out, "process_start_time_seconds", NULL, start_time_seconds);
    ottr_buf labels = {0};
    ottr_prom_label(&labels, "version", OTTR_VERSION);
    ottr_buf_putc(&labels, ',');
    ottr_prom_label(&labels, "revision", OTTR_REVISION);
    if (!labels.oom)
        gauge(out, "ottr_build_info", "Version of this ottrd.", labels.data, 1);
    ottr_buf_free(&labels);
}

void collector_metrics_render_all(ottr_buf *out)
{
    ottr_metrics_render(out);
    render_process(out);
}

/* Called early in main so the start time is the process's, not the first scrape's. */
void collector_metrics_process_init(void)
{
    start_time_seconds = (double)ottr_now_ns() / NS_PER_SEC;
}

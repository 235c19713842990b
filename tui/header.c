/*
 * header: lays the meters out for the space available. Per-CPU bars are shown when they fit
 * (in two columns when there are many CPUs and room), otherwise one aggregate CPU bar. With
 * room, text figures (tasks, load, uptime) go in a right-hand panel; in a narrow terminal they
 * follow the bars, as space allows.
 */
#include "header.h"

#include <stdio.h>

#include "draw.h"
#include "format.h"

static void cpu_meter(int y, int x, int width, const char *label, const struct cpu_usage *usage)
{
    const struct draw_meter_part parts[] = {
        {usage->nice_percent / 100.0, THEME_METER_CPU_NICE},
        {usage->user_percent / 100.0, THEME_METER_CPU_USER},
        {usage->system_percent / 100.0, THEME_METER_CPU_SYSTEM},
        {(usage->iowait_percent + usage->steal_percent) / 100.0, THEME_METER_CPU_IOWAIT},
    };
    char text[16];
    snprintf(text, sizeof text, "%.1f%%", usage->total_percent);
    draw_meter(y, x, width, label, parts, sizeof parts / sizeof parts[0], text);
}

static void memory_meter(int y, int x, int width, const struct system_metrics *sys)
{
    double total = sys->mem_total_bytes ? (double)sys->mem_total_bytes : 1.0;
    const struct draw_meter_part parts[] = {
        {(double)sys->mem_used_bytes / total, THEME_METER_MEM_USED},
        {(double)sys->mem_buffers_bytes / total, THEME_METER_MEM_BUFFERS},
        {(double)sys->mem_cached_bytes / total, THEME_METER_MEM_CACHE},
    };
    char used[16], all[16], text[40];
    format_bytes_compact(sys->mem_used_bytes, used, sizeof used);
    format_bytes_compact(sys->mem_total_bytes, all, sizeof all);
    snprintf(text, sizeof text, "%s/%s", used, all);
    draw_meter(y, x, width, "Mem", parts, sizeof parts / sizeof parts[0], text);
}

static void swap_meter(int y, int x, int width, const struct system_metrics *sys)
{
    uint64_t used_bytes = sys->swap_total_bytes - sys->swap_free_bytes;
    double total = sys->swap_total_bytes ? (double)sys->swap_total_bytes : 1.0;
    const struct draw_meter_part parts[] = {{(double)used_bytes / total, THEME_METER_SWAP}};
    char used[16], all[16], text[40];
    format_bytes_compact(used_bytes, used, sizeof used);
    format_bytes_compact(sys->swap_total_bytes, all, sizeof all);
    snprintf(text, sizeof text, "%s/%s", used, all);
    draw_meter(y, x, width, "Swp", parts, 1, text);
}

/* Text lines of the right panel; line is 0 (tasks), 1 (load) or 2 (uptime). */
static void text_line(int y, int x, int width, const struct system_metrics *sys, int line)
{
    char value[128];
    int used = 0;
    switch (line) {
    case 0:
        used = draw_text(y, x, width, "Tasks: ", THEME_HEADER_LABEL);
        snprintf(value, sizeof value, "%d, %d thr, %d kthr; %d running", sys->tasks_total,
                 sys->threads_total, sys->kernel_threads, sys->tasks_running);
        break;
    case 1:
        used = draw_text(y, x, width, "Load average: ", THEME_HEADER_LABEL);
        snprintf(value, sizeof value, "%.2f %.2f %.2f", sys->load[0], sys->load[1], sys->load[2]);
        break;
    default:
        used = draw_text(y, x, width, "Uptime: ", THEME_HEADER_LABEL);
        format_uptime(sys->uptime_seconds, value, sizeof value);
        break;
    }
    draw_text(y, x + used, width - used, value, THEME_HEADER_VALUE);
}

int header_draw(const struct system_metrics *sys, int width, int max_rows)
{
    if (max_rows <= 0 || width < 8)
        return 0;
    bool two_panels = width >= 70;
    int panel = two_panels ? (width - 1) / 2 : width;
    int left_x = 0, right_x = panel + 1;

    /* Per-CPU bars: one or two columns; fall back to one aggregate bar. */
    int cpu_columns = (sys->cpu_count >= 8 && panel >= 60) ? 2 : 1;
    int cpu_rows = (sys->cpu_count + cpu_columns - 1) / cpu_columns;
    int memory_rows = max_rows >= 3 ? 2 : 1; /* Mem and Swp, or Mem only */
    bool per_cpu = sys->cpu_count > 1 && panel >= 30 && cpu_rows + memory_rows <= max_rows;
    if (!per_cpu)
        cpu_rows = 1;

    int row = 0;
    if (per_cpu) {
        int label_digits = sys->cpu_count > 100 ? 3 : sys->cpu_count > 10 ? 2 : 1;
        int column_width = (panel - (cpu_columns - 1)) / cpu_columns;
        for (int i = 0; i < sys->cpu_count; i++) {
            char label[16];
            snprintf(label, sizeof label, "%*d", label_digits, i);
            int column = i / cpu_rows;
            cpu_meter(i % cpu_rows, left_x + column * (column_width + 1), column_width, label,
                      &sys->cpu[i]);
        }
        row = cpu_rows;
    } else {
        cpu_meter(row++, left_x, panel, "CPU", &sys->cpu_total);
    }
    if (row < max_rows)
        memory_meter(row++, left_x, panel, sys);
    if (row < max_rows && memory_rows == 2)
        swap_meter(row++, left_x, panel, sys);

    if (two_panels) {
        for (int line = 0; line < 3 && line < max_rows; line++)
            text_line(line, right_x, width - right_x, sys, line);
        if (row < 3 && max_rows >= 3)
            row = 3;
    } else {
        for (int line = 0; line < 3 && row < max_rows; line++)
            text_line(row++, left_x, width, sys, line);
    }
    return row;
}

/*
 * view_processes: the process table — column titles (the sort column marked), one row per
 * visible process or thread, tree lines in tree view, and the F6 sort menu overlay.
 * Target strings (USER, COMMAND) are sanitized here, right before they are drawn.
 */
#include <stdio.h>
#include <string.h>

#include "draw.h"
#include "sanitize.h"
#include "views.h"

#define NCURSES_WIDECHAR 1
#include <curses.h>

/* Base role of a row, before the selection highlight. */
static enum theme_role row_role(const struct proc_entry *e)
{
    if (e->is_kernel_thread)
        return THEME_PROCESS_KERNEL;
    if (e->is_thread)
        return THEME_PROCESS_THREAD;
    return THEME_PROCESS;
}

static enum theme_role state_role(char state, enum theme_role base)
{
    switch (state) {
    case 'R':
        return THEME_STATE_RUNNING;
    case 'D':
        return THEME_STATE_DISK_SLEEP;
    case 'Z':
        return THEME_STATE_ZOMBIE;
    case 'T':
    case 't':
        return THEME_STATE_STOPPED;
    default:
        return base;
    }
}

/* Tree lines for a row at depth > 0: "│ " for open ancestors, then "├─" or "└─". */
static int draw_tree_prefix(int y, int x, int width, const struct procview_row *row,
                            enum theme_role role)
{
    const char *vertical = draw_utf8() ? "│ " : "| ";
    const char *branch = draw_utf8() ? "├─" : "|-";
    const char *last = draw_utf8() ? "└─" : "`-";
    int used = 0;
    for (int d = 1; d < row->depth && used < width; d++) {
        bool open = d < 64 && (row->open_ancestors >> d) & 1;
        used += draw_text(y, x + used, width - used, open ? vertical : "  ", role);
    }
    if (row->depth > 0 && used < width)
        used += draw_text(y, x + used, width - used, row->last_sibling ? last : branch, role);
    return used;
}

/* COMMAND cell: the program's base name in its own role, the rest plain. */
static void draw_command(int y, int x, int width, const char *safe, const struct proc_entry *e,
                         enum theme_role role, bool selected)
{
    if (selected || e->is_kernel_thread || e->is_thread || !e->cmdline || !e->cmdline[0]) {
        draw_text(y, x, width, safe, role);
        return;
    }
    size_t program_end = strcspn(safe, " ");
    size_t base_start = 0;
    for (size_t i = 0; i < program_end; i++)
        if (safe[i] == '/')
            base_start = i + 1;
    char part[4096];
    int used = 0;
    snprintf(part, sizeof part, "%.*s", (int)base_start, safe);
    used += draw_text(y, x, width, part, role);
    snprintf(part, sizeof part, "%.*s", (int)(program_end - base_start), safe + base_start);
    used += draw_text(y, x + used, width - used, part, THEME_PROCESS_BASENAME);
    draw_text(y, x + used, width - used, safe + program_end, role);
}

static void draw_row(struct app *app, int y, int cols, const struct procview_row *row,
                     bool selected)
{
    const struct proc_entry *e = row->entry;
    long clock_ticks = proctable_clock_ticks(app->collector.table);
    enum theme_role base = selected ? THEME_SELECTION : row_role(e);
    draw_fill(y, 0, cols, base);
    char cell[4096], safe[4096];
    for (int c = 0; c < COLUMN_COUNT; c++) {
        const struct column_info *info = &columns_table[c];
        int x = app->layout.column_start[c];
        int width = app->layout.column_end[c] - x;
        if (x >= cols || width <= 0)
            break;
        columns_format(info->id, e, clock_ticks, cell, sizeof cell);
        sanitize_string(cell, strlen(cell), safe, sizeof safe, app->utf8);
        enum theme_role role = base;
        if (!selected) {
            if (info->id == COLUMN_STATE)
                role = state_role(e->metrics.state, base);
            else if ((info->id == COLUMN_VIRT || info->id == COLUMN_RSS) && strpbrk(safe, "GT"))
                role = THEME_PROCESS_LARGE;
            else if (info->id == COLUMN_CPU && e->cpu_percent >= 50.0)
                role = THEME_PROCESS_LARGE;
        }
        if (info->id == COLUMN_COMMAND) {
            int used = 0;
            if (app->view_options.tree)
                used = draw_tree_prefix(y, x, width, row,
                                        selected ? THEME_SELECTION : THEME_PROCESS_TREE);
            draw_command(y, x + used, width - used, safe, e, role, selected);
            continue;
        }
        int text_width = (int)sanitize_display_width(safe, app->utf8);
        int pad = info->right_aligned && text_width < width ? width - text_width : 0;
        draw_text(y, x + pad, width - pad, safe, role);
    }
}

static void layout_columns(struct app *app, int cols)
{
    int x = 0;
    for (int c = 0; c < COLUMN_COUNT; c++) {
        const struct column_info *info = &columns_table[c];
        app->layout.column_start[c] = x;
        int width = info->width ? info->width : (cols - x > 0 ? cols - x : 0);
        app->layout.column_end[c] = x + width;
        x += width + 1;
    }
}

static void draw_titles(struct app *app, int y, int cols)
{
    draw_fill(y, 0, cols, THEME_TABLE_HEADER);
    for (int c = 0; c < COLUMN_COUNT; c++) {
        const struct column_info *info = &columns_table[c];
        int x = app->layout.column_start[c];
        int width = app->layout.column_end[c] - x;
        if (x >= cols)
            break;
        bool sorted = (int)app->view_options.sort_column == c;
        int text_width = (int)strlen(info->title);
        int pad = info->right_aligned && text_width < width ? width - text_width : 0;
        draw_text(y, x + pad, width - pad, info->title,
                  sorted ? THEME_SORT_COLUMN : THEME_TABLE_HEADER);
        if (sorted && info->width == 0) {
            const char *arrow = app->view_options.descending ? (draw_utf8() ? "▼" : "v")
                                                             : (draw_utf8() ? "▲" : "^");
            draw_text(y, x + text_width, 2, arrow, THEME_SORT_COLUMN);
        }
    }
}

static void draw_sort_menu(struct app *app, int top, int rows)
{
    int width = 14;
    draw_fill(top, 0, width, THEME_TITLE);
    draw_text(top, 0, width, "Sort by", THEME_TITLE);
    for (int c = 0; c < COLUMN_COUNT && 1 + c < rows; c++) {
        bool current = c == app->sort_menu_index;
        enum theme_role role = current ? THEME_SELECTION : THEME_DEFAULT;
        draw_fill(top + 1 + c, 0, width, role);
        draw_printf(top + 1 + c, 1, width - 1, role, "%s%s", columns_table[c].title,
                    (int)app->view_options.sort_column == c ? " *" : "");
    }
}

static void processes_draw(struct app *app, int top, int rows, int cols)
{
    layout_columns(app, cols);
    app->layout.table_header_row = rows > 1 ? top : -1;
    int first = rows > 1 ? top + 1 : top;
    int body = rows > 1 ? rows - 1 : rows;
    app->layout.table_top = first;
    app->layout.table_rows = body;
    if (rows > 1)
        draw_titles(app, top, cols);

    /* Keep the selection on screen. */
    if (app->selected_index >= 0) {
        if (app->selected_index < app->scroll)
            app->scroll = app->selected_index;
        if (app->selected_index >= app->scroll + body)
            app->scroll = app->selected_index - body + 1;
    }
    long max_scroll = (long)app->row_count - body;
    if (app->scroll > max_scroll)
        app->scroll = max_scroll;
    if (app->scroll < 0)
        app->scroll = 0;

    for (int i = 0; i < body; i++) {
        size_t index = (size_t)(app->scroll + i);
        if (index >= app->row_count) {
            draw_fill(first + i, 0, cols, THEME_DEFAULT);
            continue;
        }
        draw_row(app, first + i, cols, &app->rows[index], (long)index == app->selected_index);
    }
    if (app->row_count == 0 && body > 0) {
        const char *why = app->filter[0] ? "no process matches the filter (Esc clears it)"
                                         : "no processes to show";
        draw_text(first, 1, cols - 1, why, THEME_WARNING);
    }
    if (app->input == INPUT_SORT_MENU)
        draw_sort_menu(app, first, body);
}

static void processes_footer(char *buf, size_t buflen)
{
    snprintf(buf, buflen,
             "F1 Help|F3 Search|F4 Filter|F5 Tree|F6 Sort|Enter Details|s Stacks|f Flame|F10 Quit");
}

const struct view_ops view_processes_ops = {"Processes", true, processes_draw, processes_footer,
                                            NULL};

/*
 * keys: the binding table and the actions it names. Each action is a small function of the
 * app; the table is the single place where a key gets a meaning, so help can never lie.
 */
#include "keys.h"

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "views.h"
#include "xalloc.h"

#define CONTROL(c) ((c)&0x1f)

/* ---- actions: global ---- */

static void action_help(struct app *app)
{
    app->view = VIEW_HELP;
    app->help_scroll = 0;
}

static void action_quit(struct app *app)
{
    app->quit = true;
}

static void action_freeze(struct app *app)
{
    app->frozen = !app->frozen;
    if (!app->frozen)
        app->next_refresh = 0; /* refresh at once when thawed */
}

static void action_cycle_theme(struct app *app)
{
    if (app->theme_count == 0)
        return;
    app->theme_index = (app->theme_index + 1) % app->theme_count;
    app_load_theme(app, app->theme_names[app->theme_index]);
}

static void action_back(struct app *app)
{
    if (app->view != VIEW_PROCESSES) {
        app->view = VIEW_PROCESSES;
        app->collector.table_options.details_pid = 0;
        return;
    }
    if (app->filter[0]) {
        app->filter[0] = '\0';
        app->view_options.filter = NULL;
        app_rebuild_rows(app);
        app_set_status(app, "filter cleared");
    }
}

/* ---- actions: process table ---- */

static void select_by(struct app *app, long delta)
{
    long from = app->selected_index < 0 ? 0 : app->selected_index;
    app_select_index(app, from + delta);
}

static void action_up(struct app *app)
{
    select_by(app, -1);
}

static void action_down(struct app *app)
{
    select_by(app, 1);
}

static void action_page_up(struct app *app)
{
    select_by(app, -(app->layout.table_rows > 1 ? app->layout.table_rows - 1 : 1));
}

static void action_page_down(struct app *app)
{
    select_by(app, app->layout.table_rows > 1 ? app->layout.table_rows - 1 : 1);
}

static void action_home(struct app *app)
{
    app_select_index(app, 0);
}

static void action_end(struct app *app)
{
    app_select_index(app, (long)app->row_count - 1);
}

static void action_search(struct app *app)
{
    app->input = INPUT_SEARCH;
}

static void action_filter(struct app *app)
{
    app->input = INPUT_FILTER;
}

static void action_tree(struct app *app)
{
    app->view_options.tree = !app->view_options.tree;
    app_rebuild_rows(app);
}

static void set_sort(struct app *app, enum column_id column)
{
    if (app->view_options.sort_column == column)
        app->view_options.descending = !app->view_options.descending;
    else
        app->view_options.descending = columns_table[column].descending_first;
    app->view_options.sort_column = column;
    app_rebuild_rows(app);
    app_set_status(app, "sorted by %s%s", columns_table[column].title,
                   app->view_options.descending ? " (descending)" : " (ascending)");
}

static void action_sort_menu(struct app *app)
{
    app->input = INPUT_SORT_MENU;
    app->sort_menu_index = (int)app->view_options.sort_column;
}

static void shift_sort(struct app *app, int delta)
{
    int column = ((int)app->view_options.sort_column + delta + COLUMN_COUNT) % COLUMN_COUNT;
    app->view_options.sort_column = (enum column_id)column;
    app->view_options.descending = columns_table[column].descending_first;
    app_rebuild_rows(app);
    app_set_status(app, "sorted by %s", columns_table[column].title);
}

static void action_sort_left(struct app *app)
{
    shift_sort(app, -1);
}

static void action_sort_right(struct app *app)
{
    shift_sort(app, 1);
}

static void action_invert_sort(struct app *app)
{
    app->view_options.descending = !app->view_options.descending;
    app_rebuild_rows(app);
}

static void action_sort_cpu(struct app *app)
{
    set_sort(app, COLUMN_CPU);
}

static void action_sort_memory(struct app *app)
{
    set_sort(app, COLUMN_MEM);
}

static void action_sort_time(struct app *app)
{
    set_sort(app, COLUMN_TIME);
}

static void action_sort_pid(struct app *app)
{
    set_sort(app, COLUMN_PID);
}

static void action_threads(struct app *app)
{
    app->view_options.show_threads = !app->view_options.show_threads;
    app->collector.table_options.collect_threads = app->view_options.show_threads;
    app->next_refresh = 0; /* thread rows need a refresh to exist */
    app_set_status(app, "thread rows %s", app->view_options.show_threads ? "shown" : "hidden");
}

static void action_kernel_threads(struct app *app)
{
    app->view_options.show_kernel_threads = !app->view_options.show_kernel_threads;
    app_rebuild_rows(app);
    app_set_status(app, "kernel threads %s",
                   app->view_options.show_kernel_threads ? "shown" : "hidden");
}

static void action_details(struct app *app)
{
    app_open_details(app);
}

static void action_stacks(struct app *app)
{
    app_open_stacks(app, false);
}

static void action_flame(struct app *app)
{
    app_open_flame(app, false);
}

/* ---- actions: flame view ---- */

static void action_flame_left(struct app *app)
{
    view_flame_move(app, FLAME_MOVE_LEFT);
}

static void action_flame_right(struct app *app)
{
    view_flame_move(app, FLAME_MOVE_RIGHT);
}

static void action_flame_up(struct app *app)
{
    view_flame_move(app, FLAME_MOVE_UP);
}

static void action_flame_down(struct app *app)
{
    view_flame_move(app, FLAME_MOVE_DOWN);
}

static void action_flame_page_up(struct app *app)
{
    view_flame_move(app, FLAME_MOVE_PAGE_UP);
}

static void action_flame_page_down(struct app *app)
{
    view_flame_move(app, FLAME_MOVE_PAGE_DOWN);
}

static void action_flame_enter(struct app *app)
{
    view_flame_enter(app);
}

static void action_flame_zoom_out(struct app *app)
{
    view_flame_zoom_out(app);
}

static void action_flame_zoom_reset(struct app *app)
{
    while (view_flame_zoom_out(app))
        ;
}

static void action_flame_back(struct app *app)
{
    if (app->flame.mode == FLAME_MODE_GRAPH && view_flame_zoom_out(app))
        return;
    app->view = VIEW_PROCESSES; /* the main loop stops and saves the run */
}

static void action_flame_search(struct app *app)
{
    app->input = INPUT_SEARCH;
}

static void action_flame_layout(struct app *app)
{
    static const char *const names[FLAME_MODE_COUNT] = {
        [FLAME_MODE_GRAPH] = "flame graph",
        [FLAME_MODE_TREE] = "call tree (top-down)",
        [FLAME_MODE_HOT] = "hot functions (bottom-up)",
    };
    app->flame.mode = (enum flame_mode)((app->flame.mode + 1) % FLAME_MODE_COUNT);
    app->flame.scroll = 0;
    app_set_status(app, "layout: %s", names[app->flame.mode]);
}

static void action_flame_colour(struct app *app)
{
    app->flame.color_by_heat = !app->flame.color_by_heat;
    app_set_status(app, "colour by %s", app->flame.color_by_heat ? "heat" : "module");
}

static void action_flame_sampling(struct app *app)
{
    struct app_flame *f = &app->flame;
    if (f->run && !f->stopped && !profile_run_finished(f->run)) {
        profile_run_stop(f->run);
        f->stopped = true;
        app_set_status(app, "sampling stopped; p: start a fresh run (this one is saved)");
        return;
    }
    app_open_flame(app, true);
}

/* ---- actions: stacks view ---- */

static void action_stacks_up(struct app *app)
{
    if (app->stacks.selected > 0)
        app->stacks.selected--;
    app->stacks.detail_scroll = 0;
}

static void action_stacks_down(struct app *app)
{
    app->stacks.selected++; /* clamped when drawn */
    app->stacks.detail_scroll = 0;
}

static void action_stacks_expand(struct app *app)
{
    app->stacks.expanded = !app->stacks.expanded;
    app->stacks.detail_scroll = 0;
}

static void action_stacks_grouping(struct app *app)
{
    if (!app->stacks.have)
        return;
    enum stacks_grouping next =
        (enum stacks_grouping)((app->stacks.snapshot.grouping + 1) % STACKS_GROUP_COUNT);
    stacks_snapshot_regroup(&app->stacks.snapshot, next);
    app->stacks.selected = 0;
    app->stacks.scroll = 0;
    app_set_status(app, "grouped by %s", stacks_grouping_name(next));
}

static void action_stacks_recapture(struct app *app)
{
    app_open_stacks(app, true);
}

static void action_stacks_page_down(struct app *app)
{
    app->stacks.detail_scroll += 10; /* clamped when drawn */
}

static void action_stacks_page_up(struct app *app)
{
    app->stacks.detail_scroll = app->stacks.detail_scroll > 10 ? app->stacks.detail_scroll - 10 : 0;
}

/* ---- actions: details and help (scrolling) ---- */

static void action_details_up(struct app *app)
{
    if (app->details.scroll > 0)
        app->details.scroll--;
}

static void action_details_down(struct app *app)
{
    app->details.scroll++; /* clamped when drawn */
}

static void action_help_up(struct app *app)
{
    if (app->help_scroll > 0)
        app->help_scroll--;
}

static void action_help_down(struct app *app)
{
    app->help_scroll++; /* clamped when drawn */
}

static const struct key_binding key_table[] = {
    {KEY_F(1), "F1", KEY_SCOPE_GLOBAL, action_help, "show this help"},
    {'?', "?", KEY_SCOPE_GLOBAL, action_help, "show this help"},
    {'q', "q", KEY_SCOPE_GLOBAL, action_quit, "quit (the session file is closed and kept)"},
    {KEY_F(10), "F10", KEY_SCOPE_GLOBAL, action_quit, "quit (the session file is closed and kept)"},
    {' ', "Space", KEY_SCOPE_GLOBAL, action_freeze,
     "freeze / unfreeze the display (no refresh while frozen)"},
    {'C', "C", KEY_SCOPE_GLOBAL, action_cycle_theme, "next colour theme"},
    {27, "Esc", KEY_SCOPE_GLOBAL, action_back, "back to the process table; clear the filter"},
    {KEY_BACKSPACE, "Backspace", KEY_SCOPE_DETAILS, action_back, "back to the process table"},
    {KEY_LEFT, "Left", KEY_SCOPE_DETAILS, action_back, "back to the process table"},
    {KEY_BACKSPACE, "Backspace", KEY_SCOPE_HELP, action_back, "back to the process table"},
    {KEY_BACKSPACE, "Backspace", KEY_SCOPE_STACKS, action_back, "back to the process table"},
    {KEY_LEFT, "Left", KEY_SCOPE_STACKS, action_back, "back to the process table"},

    {KEY_UP, "Up", KEY_SCOPE_PROCESSES, action_up, "select the previous process"},
    {'k', "k", KEY_SCOPE_PROCESSES, action_up, "select the previous process"},
    {KEY_DOWN, "Down", KEY_SCOPE_PROCESSES, action_down, "select the next process"},
    {'j', "j", KEY_SCOPE_PROCESSES, action_down, "select the next process"},
    {KEY_PPAGE, "PgUp", KEY_SCOPE_PROCESSES, action_page_up, "one page up"},
    {KEY_NPAGE, "PgDn", KEY_SCOPE_PROCESSES, action_page_down, "one page down"},
    {KEY_HOME, "Home", KEY_SCOPE_PROCESSES, action_home, "first process"},
    {KEY_END, "End", KEY_SCOPE_PROCESSES, action_end, "last process"},
    {'/', "/", KEY_SCOPE_PROCESSES, action_search,
     "incremental search (F3 again: next match, Shift-F3: previous)"},
    {KEY_F(3), "F3", KEY_SCOPE_PROCESSES, action_search,
     "incremental search (F3 again: next match, Shift-F3: previous)"},
    {'\\', "\\", KEY_SCOPE_PROCESSES, action_filter,
     "filter: hide processes whose name does not match (Esc clears)"},
    {KEY_F(4), "F4", KEY_SCOPE_PROCESSES, action_filter,
     "filter: hide processes whose name does not match (Esc clears)"},
    {'t', "t", KEY_SCOPE_PROCESSES, action_tree, "tree view by parent on/off"},
    {KEY_F(5), "F5", KEY_SCOPE_PROCESSES, action_tree, "tree view by parent on/off"},
    {KEY_F(6), "F6", KEY_SCOPE_PROCESSES, action_sort_menu, "choose the sort column"},
    {'<', "<", KEY_SCOPE_PROCESSES, action_sort_left, "sort by the column to the left"},
    {',', ",", KEY_SCOPE_PROCESSES, action_sort_left, "sort by the column to the left"},
    {'>', ">", KEY_SCOPE_PROCESSES, action_sort_right, "sort by the column to the right"},
    {'.', ".", KEY_SCOPE_PROCESSES, action_sort_right, "sort by the column to the right"},
    {'I', "I", KEY_SCOPE_PROCESSES, action_invert_sort, "invert the sort order"},
    {'P', "P", KEY_SCOPE_PROCESSES, action_sort_cpu, "sort by CPU%"},
    {'M', "M", KEY_SCOPE_PROCESSES, action_sort_memory, "sort by MEM%"},
    {'T', "T", KEY_SCOPE_PROCESSES, action_sort_time, "sort by TIME+"},
    {'N', "N", KEY_SCOPE_PROCESSES, action_sort_pid, "sort by PID"},
    {'H', "H", KEY_SCOPE_PROCESSES, action_threads, "show / hide thread rows"},
    {'K', "K", KEY_SCOPE_PROCESSES, action_kernel_threads, "show / hide kernel threads"},
    {'s', "s", KEY_SCOPE_PROCESSES, action_stacks,
     "stacks of the selected process: every thread, grouped (attaches for microseconds)"},
    {'f', "f", KEY_SCOPE_PROCESSES, action_flame,
     "flame graph of the selected process: samples with perf (99 Hz) while the view is open"},
    {'\r', "Enter", KEY_SCOPE_PROCESSES, action_details,
     "details of the selected process: threads and history"},
    {'\n', "Enter", KEY_SCOPE_PROCESSES, action_details,
     "details of the selected process: threads and history"},
    {KEY_ENTER, "Enter", KEY_SCOPE_PROCESSES, action_details,
     "details of the selected process: threads and history"},

    {KEY_UP, "Up", KEY_SCOPE_DETAILS, action_details_up, "scroll the thread list"},
    {KEY_DOWN, "Down", KEY_SCOPE_DETAILS, action_details_down, "scroll the thread list"},
    {KEY_UP, "Up", KEY_SCOPE_STACKS, action_stacks_up, "select a group"},
    {KEY_DOWN, "Down", KEY_SCOPE_STACKS, action_stacks_down, "select a group"},
    {'\r', "Enter", KEY_SCOPE_STACKS, action_stacks_expand,
     "expand / collapse the group: whole stack with inline frames, and its threads"},
    {'\n', "Enter", KEY_SCOPE_STACKS, action_stacks_expand,
     "expand / collapse the group: whole stack with inline frames, and its threads"},
    {KEY_ENTER, "Enter", KEY_SCOPE_STACKS, action_stacks_expand,
     "expand / collapse the group: whole stack with inline frames, and its threads"},
    {'g', "g", KEY_SCOPE_STACKS, action_stacks_grouping,
     "group by: whole stack, top frame, top user frame, start frame"},
    {'r', "r", KEY_SCOPE_STACKS, action_stacks_recapture, "capture again"},
    {KEY_NPAGE, "PgDn", KEY_SCOPE_STACKS, action_stacks_page_down, "scroll the expanded group"},
    {KEY_PPAGE, "PgUp", KEY_SCOPE_STACKS, action_stacks_page_up, "scroll the expanded group"},
    {KEY_LEFT, "Left", KEY_SCOPE_FLAME, action_flame_left,
     "graph: frame to the left; tree: collapse / go to the caller"},
    {KEY_RIGHT, "Right", KEY_SCOPE_FLAME, action_flame_right,
     "graph: frame to the right; tree: expand / go to the first callee"},
    {KEY_UP, "Up", KEY_SCOPE_FLAME, action_flame_up, "graph: the caller; tree, list: previous"},
    {KEY_DOWN, "Down", KEY_SCOPE_FLAME, action_flame_down,
     "graph: the widest callee; tree, list: next"},
    {KEY_PPAGE, "PgUp", KEY_SCOPE_FLAME, action_flame_page_up, "tree, list: one page up"},
    {KEY_NPAGE, "PgDn", KEY_SCOPE_FLAME, action_flame_page_down, "tree, list: one page down"},
    {'\r', "Enter", KEY_SCOPE_FLAME, action_flame_enter,
     "graph: zoom into the frame; tree: expand / collapse; list: show it in the graph"},
    {'\n', "Enter", KEY_SCOPE_FLAME, action_flame_enter,
     "graph: zoom into the frame; tree: expand / collapse; list: show it in the graph"},
    {KEY_ENTER, "Enter", KEY_SCOPE_FLAME, action_flame_enter,
     "graph: zoom into the frame; tree: expand / collapse; list: show it in the graph"},
    {KEY_BACKSPACE, "Backspace", KEY_SCOPE_FLAME, action_flame_zoom_out, "zoom out one level"},
    {127, "Backspace", KEY_SCOPE_FLAME, action_flame_zoom_out, "zoom out one level"},
    {KEY_HOME, "Home", KEY_SCOPE_FLAME, action_flame_zoom_reset, "zoom out to all samples"},
    {27, "Esc", KEY_SCOPE_FLAME, action_flame_back,
     "zoom out; at the root: back (sampling stops, the profile is saved as a snapshot)"},
    {'/', "/", KEY_SCOPE_FLAME, action_flame_search,
     "highlight frames containing a text; shows their share of samples (Enter: select)"},
    {'l', "l", KEY_SCOPE_FLAME, action_flame_layout,
     "layout: flame graph, call tree (total%, self%), hot functions"},
    {'c', "c", KEY_SCOPE_FLAME, action_flame_colour, "colour frames by module / by heat"},
    {'p', "p", KEY_SCOPE_FLAME, action_flame_sampling,
     "stop sampling (keep the graph) / sample again (a fresh run; the old one is saved)"},
    {KEY_UP, "Up", KEY_SCOPE_HELP, action_help_up, "scroll"},
    {KEY_DOWN, "Down", KEY_SCOPE_HELP, action_help_down, "scroll"},
};

#define KEY_TABLE_SIZE (sizeof key_table / sizeof key_table[0])

static enum key_scope scope_of_view(enum view_id view)
{
    static const enum key_scope scopes[VIEW_COUNT] = {
        [VIEW_PROCESSES] = KEY_SCOPE_PROCESSES, [VIEW_DETAILS] = KEY_SCOPE_DETAILS,
        [VIEW_HELP] = KEY_SCOPE_HELP,           [VIEW_STACKS] = KEY_SCOPE_STACKS,
        [VIEW_FLAME] = KEY_SCOPE_FLAME,
    };
    return scopes[view];
}

bool keys_dispatch(struct app *app, int key)
{
    enum key_scope scope = scope_of_view(app->view);
    /* A binding of the view wins over a global one for the same key. */
    const struct key_binding *global = NULL;
    for (size_t i = 0; i < KEY_TABLE_SIZE; i++) {
        if (key_table[i].key != key)
            continue;
        if (key_table[i].scope == scope) {
            key_table[i].action(app);
            return true;
        }
        if (key_table[i].scope == KEY_SCOPE_GLOBAL && !global)
            global = &key_table[i];
    }
    if (global) {
        global->action(app);
        return true;
    }
    return false;
}

size_t keys_help_lines(char lines[][128], size_t max)
{
    static const struct {
        enum key_scope scope; /* bindings of this scope */
        const char *title;    /* section heading */
    } sections[] = {
        {KEY_SCOPE_GLOBAL, "Everywhere"},  {KEY_SCOPE_PROCESSES, "Process table"},
        {KEY_SCOPE_FLAME, "Flame view"},   {KEY_SCOPE_DETAILS, "Details view"},
        {KEY_SCOPE_STACKS, "Stacks view"}, {KEY_SCOPE_HELP, "Help view"},
    };
    size_t count = 0;
    bool used[KEY_TABLE_SIZE] = {false};
    for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++) {
        if (count < max)
            snprintf(lines[count], 128, "%s", sections[s].title);
        count++;
        for (size_t i = 0; i < KEY_TABLE_SIZE; i++) {
            if (used[i] || key_table[i].scope != sections[s].scope)
                continue;
            /* Gather every key of this scope with the same action into one line. */
            char keys_text[64] = "";
            size_t length = 0;
            for (size_t j = i; j < KEY_TABLE_SIZE; j++) {
                if (key_table[j].scope != key_table[i].scope ||
                    key_table[j].action != key_table[i].action)
                    continue;
                used[j] = true;
                if (strstr(keys_text, key_table[j].label) && j != i)
                    continue; /* the same label twice (Enter) */
                int n = snprintf(keys_text + length, sizeof keys_text - length, "%s%s",
                                 length ? " " : "", key_table[j].label);
                if (n > 0 && (size_t)n < sizeof keys_text - length)
                    length += (size_t)n;
            }
            if (count < max)
                snprintf(lines[count], 128, "  %-16s %s", keys_text, key_table[i].help);
            count++;
        }
        if (count < max)
            lines[count][0] = '\0';
        count++;
    }
    static const char *mouse_lines[] = {
        "Mouse",
        "  click            select a process; on a column title: sort by it (again: invert)",
        "  wheel            scroll",
    };
    for (size_t i = 0; i < sizeof mouse_lines / sizeof mouse_lines[0]; i++) {
        if (count < max)
            snprintf(lines[count], 128, "%s", mouse_lines[i]);
        count++;
    }
    return count;
}

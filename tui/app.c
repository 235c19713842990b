/*
 * app: the console's main loop. Each turn: refresh when the delay has passed (unless frozen),
 * draw the current view, then wait for a key or the next refresh, whichever comes first.
 * Text input (search, filter) and the sort menu are small modes handled here; every other
 * key goes through the binding table in keys.c.
 */
#include "app.h"

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "draw.h"
#include "header.h"
#include "keys.h"
#include "sanitize.h"
#include "terminal.h"
#include "views.h"
#include "xalloc.h"

#define APP_MIN_COLS   20 /* below this the console shows "terminal too small" */
#define APP_MIN_LINES  5
#define STATUS_SECONDS 4.0
#define FLAME_WAIT     0.2    /* longest wait for a key while the Flame view samples */
#define FLAME_HZ       99     /* sampling frequency of the Flame view */
#define FLAME_SECONDS  3600.0 /* a run lasts until the view is left (or p) */

double app_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void app_set_status(struct app *app, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(app->status, sizeof app->status, fmt, ap);
    va_end(ap);
    app->status_until = app_now() + STATUS_SECONDS;
}

void app_select_index(struct app *app, long index)
{
    if (app->row_count == 0) {
        app->selected_index = -1;
        return;
    }
    if (index < 0)
        index = 0;
    if (index >= (long)app->row_count)
        index = (long)app->row_count - 1;
    app->selected_index = index;
    app->selected_pid = app->rows[index].entry->pid;
}

void app_rebuild_rows(struct app *app)
{
    size_t count = 0;
    const struct proc_entry *const *entries = proctable_entries(app->collector.table, &count);
    app->view_options.filter = app->filter[0] ? app->filter : NULL;
    app->row_count =
        procview_build(entries, count, &app->view_options, &app->rows, &app->row_capacity);
    long index = procview_index_of(app->rows, app->row_count, app->selected_pid);
    if (index < 0) {
        /* The selected process vanished or was filtered out: keep the same position. */
        long keep = app->selected_index < 0 ? 0 : app->selected_index;
        app_select_index(app, keep);
    } else {
        app->selected_index = index;
    }
}

void app_open_stacks(struct app *app, bool recapture)
{
    pid_t pid = app->stacks.pid;
    if (!recapture) {
        if (app->selected_index < 0)
            return;
        const struct proc_entry *e = app->rows[app->selected_index].entry;
        pid = e->is_thread ? e->tgid : e->pid;
    }
    struct app_stacks *s = &app->stacks;
    enum stacks_grouping grouping = s->have ? s->snapshot.grouping : STACKS_GROUP_STACK;
    if (s->have)
        stacks_snapshot_free(&s->snapshot);
    s->have = false;
    s->pid = pid;
    s->error[0] = '\0';
    if (!recapture) {
        s->selected = s->scroll = 0;
        s->expanded = false;
        s->detail_scroll = 0;
    }
    app->view = VIEW_STACKS;
    /* The capture takes milliseconds; say so in case it takes longer. */
    draw_fill(LINES - 1, 0, COLS, THEME_FOOTER);
    draw_printf(LINES - 1, 0, COLS, THEME_FOOTER, "capturing the stacks of %d ...", (int)pid);
    refresh();
    const struct capture_options options = {
        .unwinder = CAPTURE_UNWINDER_DEFAULT,
        .stop_deadline_ms = 10,
        .symbolize = true,
    };
    if (stacks_snapshot_take(pid, &options, grouping, &s->snapshot, s->error, sizeof s->error) < 0)
        return;
    s->have = true;
    char err[256];
    if (app->collector.store &&
        stacks_snapshot_store(&s->snapshot, app->collector.store, err, sizeof err) < 0)
        app_set_status(app, "snapshot not saved: %s", err);
    else if (app->collector.recording)
        app_set_status(app, "snapshot %lld saved", (long long)s->snapshot.snapshot_id);
}

void app_close_flame(struct app *app)
{
    struct app_flame *f = &app->flame;
    if (!f->run)
        return;
    profile_run_stop(f->run);
    struct perf_stats stats;
    profile_run_stats(f->run, &stats);
    char err[256];
    if (stats.samples == 0) {
        app_set_status(app, "no samples: profile not saved");
    } else if (app->collector.store) {
        int64_t id = profile_run_store(f->run, app->collector.store, err, sizeof err);
        if (id < 0)
            app_set_status(app, "profile not saved: %s", err);
        else
            app_set_status(app, "profile snapshot %lld saved", (long long)id);
    }
    profile_run_free(f->run);
    f->run = NULL;
    f->stopped = false;
    view_flame_reset(app);
}

void app_open_flame(struct app *app, bool restart)
{
    struct app_flame *f = &app->flame;
    pid_t pid = f->pid;
    const char *comm = NULL;
    if (!restart) {
        if (app->selected_index < 0)
            return;
        const struct proc_entry *e = app->rows[app->selected_index].entry;
        pid = e->is_thread ? e->tgid : e->pid;
        const struct proc_entry *process = proctable_find(app->collector.table, pid);
        comm = process ? process->comm : e->comm;
    }
    app_close_flame(app);
    if (!restart) {
        snprintf(f->comm, sizeof f->comm, "%s", comm);
        f->mode = FLAME_MODE_GRAPH;
        f->search[0] = '\0';
    }
    f->pid = pid;
    f->error[0] = '\0';
    f->stopped = false;
    app->view = VIEW_FLAME;
    /* Opening the events and reading the symbols can take a moment: say so. */
    draw_fill(LINES - 1, 0, COLS, THEME_FOOTER);
    draw_printf(LINES - 1, 0, COLS, THEME_FOOTER, "starting to sample %d ...", (int)pid);
    refresh();
    const struct perf_options options = {
        .pid = pid,
        .frequency_hz = FLAME_HZ,
        .duration_seconds = FLAME_SECONDS,
        .dwarf = true,
        .stack_dump_bytes = 16384,
        .kernel = true,
    };
    f->run = profile_run_start(&options, f->error, sizeof f->error);
    if (!f->run && !f->error[0])
        snprintf(f->error, sizeof f->error, "cannot sample process %d", (int)pid);
}

/* While the Flame view is shown, drain the run's new samples without waiting. */
static void poll_flame(struct app *app)
{
    struct app_flame *f = &app->flame;
    if (!f->run || app->view != VIEW_FLAME || f->stopped || profile_run_finished(f->run))
        return;
    char err[512];
    if (profile_run_poll(f->run, 0, err, sizeof err) < 0) {
        snprintf(f->error, sizeof f->error, "%s", err);
        profile_run_stop(f->run);
    }
}

static bool flame_sampling(const struct app *app)
{
    return app->view == VIEW_FLAME && app->flame.run && !app->flame.stopped &&
           !profile_run_finished(app->flame.run);
}

void app_open_details(struct app *app)
{
    if (app->selected_index < 0)
        return;
    const struct proc_entry *e = app->rows[app->selected_index].entry;
    pid_t pid = e->is_thread ? e->tgid : e->pid;
    const struct proc_entry *process = proctable_find(app->collector.table, pid);
    struct app_details *d = &app->details;
    proc_details_free(&d->facts);
    memset(d, 0, sizeof *d);
    d->pid = pid;
    d->starttime_ticks = process ? process->starttime_ticks : e->starttime_ticks;
    if (proctable_read_details(app->collector.table, pid, &d->facts, d->error, sizeof d->error) < 0)
        d->exited = true;
    app->collector.table_options.details_pid = pid;
    app->view = VIEW_DETAILS;
    app->next_refresh = 0; /* collect its threads now */
}

static void refresh_data(struct app *app)
{
    char err[512];
    if (collector_tick(&app->collector, err, sizeof err) < 0) {
        app_set_status(app, "%s", err);
        return;
    }
    app_rebuild_rows(app);
}

/* Footer: key hints, or the input line; the session path and FROZEN on the right. */
static void draw_footer(struct app *app, int y, int cols)
{
    draw_fill(y, 0, cols, THEME_FOOTER);
    int x = 0;
    if (app->input == INPUT_SEARCH || app->input == INPUT_FILTER) {
        bool search = app->input == INPUT_SEARCH;
        bool flame = app->view == VIEW_FLAME;
        x += draw_text(y, x, cols, search ? "Search: " : "Filter: ", THEME_FOOTER_KEY);
        char *safe = sanitize_dup(flame    ? app->flame.search
                                  : search ? app->search
                                           : app->filter,
                                  app->utf8);
        x += draw_text(y, x, cols - x, safe, THEME_SEARCH_MATCH);
        free(safe);
        x += draw_text(y, x, cols - x, "_", THEME_SEARCH_MATCH);
        if (!flame && search && app->search[0] && app->selected_index >= 0 &&
            !procview_matches(app->rows[app->selected_index].entry, app->search))
            x += draw_text(y, x + 1, cols - x - 1, "(no match)", THEME_WARNING) + 1;
        x += draw_text(y, x + 1, cols - x - 1,
                       flame    ? "Enter select the widest match  Esc clear"
                       : search ? "Enter done  F3 next  S-F3 prev  Esc cancel"
                                : "Enter keep  Esc clear",
                       THEME_FOOTER) +
             1;
    } else if (app->input == INPUT_SORT_MENU) {
        x += draw_text(y, x, cols, "Sort: Up/Down choose, Enter sort, Esc cancel", THEME_FOOTER);
    } else {
        char hints[256];
        views_get(app->view)->footer_hints(hints, sizeof hints);
        char *save = NULL;
        for (char *hint = strtok_r(hints, "|", &save); hint && x < cols;
             hint = strtok_r(NULL, "|", &save)) {
            char *space = strchr(hint, ' ');
            if (space)
                *space = '\0';
            x += draw_text(y, x, cols - x, hint, THEME_FOOTER_KEY);
            if (space) {
                x += draw_text(y, x, cols - x, " ", THEME_FOOTER);
                x += draw_text(y, x, cols - x, space + 1, THEME_FOOTER);
            }
            x += draw_text(y, x, cols - x, " ", THEME_FOOTER);
        }
    }

    /* Right side: FROZEN, then the view's figures or where the session goes. */
    char right[PATH_MAX + 64];
    enum theme_role right_role = THEME_STATUS;
    const struct view_ops *ops = views_get(app->view);
    char view_right[256] = "";
    if (ops->footer_right)
        ops->footer_right(app, view_right, sizeof view_right);
    if (app->status[0] && app_now() < app->status_until) {
        snprintf(right, sizeof right, "%s", app->status);
    } else if (view_right[0]) {
        snprintf(right, sizeof right, "%s", view_right);
    } else if (app->collector.record_error[0]) {
        snprintf(right, sizeof right, "%s", app->collector.record_error);
        right_role = THEME_WARNING;
    } else if (app->collector.recording) {
        snprintf(right, sizeof right, "rec %s", app->collector.path);
    } else {
        snprintf(right, sizeof right, "not recording");
    }
    char *safe = sanitize_dup(right, app->utf8);
    int width = (int)sanitize_display_width(safe, app->utf8);
    int frozen_width = app->frozen ? 8 : 0;
    int room = cols - x - frozen_width - 1;
    if (room > 8) {
        /* A long path keeps "rec " and its end, which names the file: "rec ...name.db". */
        const char *shown = safe;
        int prefix_width = 0;
        if (width > room && strncmp(safe, "rec ", 4) == 0) {
            const char *ellipsis = app->utf8 ? "rec …" : "rec ...";
            prefix_width = app->utf8 ? 5 : 7;
            size_t tail = (size_t)(room - prefix_width);
            shown = safe + (strlen(safe) > tail ? strlen(safe) - tail : 0);
            draw_text(y, cols - frozen_width - room, prefix_width, ellipsis, right_role);
        }
        int shown_width = (int)sanitize_display_width(shown, app->utf8);
        if (shown_width > room - prefix_width)
            shown_width = room - prefix_width;
        draw_text(y, cols - frozen_width - shown_width, shown_width, shown, right_role);
    }
    free(safe);
    if (app->frozen)
        draw_text(y, cols - 7, 7, " FROZEN", THEME_FROZEN);
}

static void draw_screen(struct app *app)
{
    erase();
    int rows = LINES, cols = COLS;
    app->layout.too_small = rows < APP_MIN_LINES || cols < APP_MIN_COLS;
    if (app->layout.too_small) {
        static const char message[] = "terminal too small";
        int width = cols < (int)sizeof message - 1 ? cols : (int)sizeof message - 1;
        for (int y = 0; y < rows && width > 0; y++) {
            /* Fold the message over the few rows there are. */
            int offset = y * cols;
            if (offset >= (int)sizeof message - 1)
                break;
            draw_text(y, 0, cols, message + offset, THEME_WARNING);
        }
        app->layout.table_rows = 0;
        app->layout.table_header_row = -1;
        refresh();
        return;
    }
    const struct view_ops *ops = views_get(app->view);
    int top = 0;
    if (ops->shows_header) {
        int budget = rows >= 24 ? rows / 3 : rows >= 12 ? 3 : rows >= 8 ? 2 : 1;
        top = header_draw(proctable_system(app->collector.table), cols, budget);
        if (top < rows - 2 && rows >= 12)
            top++; /* a blank line between the meters and the table */
    }
    app->layout.header_rows = top;
    int body = rows - top - 1;
    ops->draw(app, top, body, cols);
    draw_footer(app, rows - 1, cols);
    refresh();
}

/* Editing keys shared by the search and filter lines. Returns true when the text changed. */
static bool edit_text(char *text, size_t size, int key)
{
    size_t length = strlen(text);
    if (key == KEY_BACKSPACE || key == 127 || key == 8) {
        if (length == 0)
            return false;
        /* Remove a whole UTF-8 character. */
        do {
            length--;
        } while (length > 0 && ((unsigned char)text[length] & 0xC0) == 0x80);
        text[length] = '\0';
        return true;
    }
    if (key == 21) { /* Ctrl-U */
        text[0] = '\0';
        return true;
    }
    if (key >= 32 && key < 256 && key != 127 && length + 1 < size) {
        text[length] = (char)key;
        text[length + 1] = '\0';
        return true;
    }
    return false;
}

static void search_step(struct app *app, int direction, bool skip_current)
{
    if (!app->search[0] || app->row_count == 0)
        return;
    long start = app->selected_index < 0 ? 0 : app->selected_index;
    if (skip_current)
        start = (start + direction + (long)app->row_count) % (long)app->row_count;
    long found = procview_search(app->rows, app->row_count, (size_t)start, app->search, direction);
    if (found >= 0)
        app_select_index(app, found);
}

/* The Flame view's search line: matches are highlighted as the text changes; Enter selects
 * the widest matching frame. */
static void handle_flame_search_key(struct app *app, int key)
{
    if (key == 27) {
        app->flame.search[0] = '\0';
        app->input = INPUT_NONE;
        return;
    }
    if (key == '\r' || key == '\n' || key == KEY_ENTER) {
        app->input = INPUT_NONE;
        view_flame_select_match(app);
        return;
    }
    edit_text(app->flame.search, sizeof app->flame.search, key);
}

static void handle_input_key(struct app *app, int key)
{
    bool search = app->input == INPUT_SEARCH;
    char *text = search ? app->search : app->filter;
    if (search && app->view == VIEW_FLAME) {
        handle_flame_search_key(app, key);
        return;
    }
    if (key == 27) {
        if (!search) {
            app->filter[0] = '\0';
            app_rebuild_rows(app);
        }
        app->input = INPUT_NONE;
        return;
    }
    if (key == '\r' || key == '\n' || key == KEY_ENTER) {
        app->input = INPUT_NONE;
        return;
    }
    if (search && (key == KEY_F(3) || key == 14 /* Ctrl-N */ || key == KEY_DOWN)) {
        search_step(app, 1, true);
        return;
    }
    if (search && (key == KEY_F(15) || key == 16 /* Ctrl-P */ || key == KEY_UP)) {
        search_step(app, -1, true);
        return;
    }
    if (!edit_text(text, APP_TEXT_MAX, key))
        return;
    if (search)
        search_step(app, 1, false);
    else
        app_rebuild_rows(app);
}

static void handle_sort_menu_key(struct app *app, int key)
{
    switch (key) {
    case KEY_UP:
        app->sort_menu_index = (app->sort_menu_index + COLUMN_COUNT - 1) % COLUMN_COUNT;
        break;
    case KEY_DOWN:
        app->sort_menu_index = (app->sort_menu_index + 1) % COLUMN_COUNT;
        break;
    case '\r':
    case '\n':
    case KEY_ENTER:
        app->view_options.sort_column = (enum column_id)app->sort_menu_index;
        app->view_options.descending = columns_table[app->sort_menu_index].descending_first;
        app->input = INPUT_NONE;
        app_rebuild_rows(app);
        app_set_status(app, "sorted by %s", columns_table[app->sort_menu_index].title);
        break;
    case 27:
    case KEY_F(6):
        app->input = INPUT_NONE;
        break;
    default:
        break;
    }
}

static void handle_mouse(struct app *app)
{
    MEVENT event;
    if (getmouse(&event) != OK || app->view != VIEW_PROCESSES || app->layout.too_small)
        return;
    if (event.bstate & BUTTON4_PRESSED) {
        app->scroll -= 3;
        app_select_index(app, app->selected_index - 3);
        return;
    }
    if (event.bstate & BUTTON5_PRESSED) {
        app->scroll += 3;
        app_select_index(app, app->selected_index + 3);
        return;
    }
    if (!(event.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)))
        return;
    if (event.y == app->layout.table_header_row) {
        for (int c = 0; c < COLUMN_COUNT; c++) {
            if (event.x >= app->layout.column_start[c] && event.x < app->layout.column_end[c]) {
                enum column_id column = (enum column_id)c;
                if (app->view_options.sort_column == column)
                    app->view_options.descending = !app->view_options.descending;
                else
                    app->view_options.descending = columns_table[c].descending_first;
                app->view_options.sort_column = column;
                app_rebuild_rows(app);
                return;
            }
        }
        return;
    }
    int row = event.y - app->layout.table_top;
    if (row >= 0 && row < app->layout.table_rows && app->scroll + row < (long)app->row_count)
        app_select_index(app, app->scroll + row);
}

static void handle_key(struct app *app, int key)
{
    if (key == KEY_RESIZE)
        return; /* redrawn on the next turn */
    if (key == KEY_MOUSE) {
        handle_mouse(app);
        return;
    }
    if (app->input == INPUT_SEARCH || app->input == INPUT_FILTER) {
        handle_input_key(app, key);
        return;
    }
    if (app->input == INPUT_SORT_MENU) {
        handle_sort_menu_key(app, key);
        return;
    }
    /* F3 with a search text outside the search line: open it and jump to the next match. */
    if (key == KEY_F(3) && app->view == VIEW_PROCESSES && app->search[0]) {
        app->input = INPUT_SEARCH;
        search_step(app, 1, true);
        return;
    }
    keys_dispatch(app, key);
}

static void theme_warning_to_status(void *context, const char *file, int line, const char *message)
{
    struct app *app = context;
    if (line > 0)
        app_set_status(app, "%s:%d: %s", file, line, message);
    else
        app_set_status(app, "%s: %s", file, message);
    app->status_until = app_now() + 10.0; /* theme problems deserve a longer look */
}

static void app_init_theme(struct app *app)
{
    const char *no_color = getenv("NO_COLOR");
    app->allow_color = !(no_color && no_color[0]);
    char *names[64];
    app->theme_count = theme_list(names, 64);
    if (app->theme_count > 64)
        app->theme_count = 64;
    app->theme_names = xcalloc(app->theme_count ? app->theme_count : 1, sizeof(char *));
    for (size_t i = 0; i < app->theme_count; i++)
        app->theme_names[i] = names[i];
    const char *wanted = app->options->theme_name ? app->options->theme_name : "default";
    for (size_t i = 0; i < app->theme_count; i++)
        if (strcmp(app->theme_names[i], wanted) == 0)
            app->theme_index = i;
    if (app_load_theme(app, wanted) == 0)
        app->status[0] = '\0'; /* the footer shows the session path at startup */
}

int app_load_theme(struct app *app, const char *name)
{
    app->status[0] = '\0';
    int warnings = theme_load(name, &app->theme, theme_warning_to_status, app);
    theme_activate(&app->theme, app->allow_color);
    if (warnings == 0)
        app_set_status(app, "theme: %s", name);
    return warnings;
}

static void app_init_view_options(struct app *app)
{
    const struct options *o = app->options;
    app->view_options.sort_column =
        o->sort_column >= 0 ? (enum column_id)o->sort_column : COLUMN_CPU;
    app->view_options.descending = columns_table[app->view_options.sort_column].descending_first;
    if (o->sort_column >= 0 && o->sort_ascending)
        app->view_options.descending = false;
    app->view_options.tree = o->tree;
    app->view_options.show_threads = o->show_threads;
    app->view_options.show_kernel_threads = true;
    app->view_options.pids = o->pid_count ? o->pids : NULL;
    app->view_options.pid_count = o->pid_count;
    app->collector.table_options.collect_threads = o->show_threads;
    app->selected_pid = o->pid_count ? o->pids[0] : 0;
    app->selected_index = -1;
}

int app_run(const struct options *options, int argc, char **argv)
{
    static struct app app; /* static: large, and the crash handler never needs it */
    memset(&app, 0, sizeof app);
    app.options = options;
    char err[512];
    /* The terminal first: a refused start (TERM=dumb, not a tty) must not leave a file. */
    if (terminal_start(err, sizeof err) < 0) {
        fprintf(stderr, "stacktop: %s\n", err);
        return 1;
    }
    if (collector_open(&app.collector, options, argc, argv, err, sizeof err) < 0) {
        terminal_stop();
        fprintf(stderr, "stacktop: %s\n", err);
        return 1;
    }
    app.utf8 = terminal_utf8();
    draw_set_utf8(app.utf8);
    app_init_theme(&app);
    app_init_view_options(&app);

    refresh_data(&app);
    app.next_refresh = app_now() + (options->delay_seconds < 0.5 ? options->delay_seconds : 0.5);
    while (!app.quit && !terminal_quit_requested()) {
        double now = app_now();
        if (!app.frozen && now >= app.next_refresh) {
            refresh_data(&app);
            app.next_refresh = now + options->delay_seconds;
        }
        poll_flame(&app);
        draw_screen(&app);
        double wait = app.frozen ? 1.0 : app.next_refresh - app_now();
        if (flame_sampling(&app) && wait > FLAME_WAIT)
            wait = FLAME_WAIT; /* the graph grows live */
        if (app.status[0] && app.status_until > app_now() && app.status_until - app_now() < wait)
            wait = app.status_until - app_now();
        int milliseconds = wait <= 0 ? 0 : (int)(wait * 1000.0) + 1;
        timeout(milliseconds);
        int key = getch();
        if (key == ERR)
            continue;
        handle_key(&app, key);
        /* Drain queued keys before redrawing so that held arrows stay responsive. */
        timeout(0);
        for (int drained = 0; drained < 64 && !app.quit; drained++) {
            key = getch();
            if (key == ERR)
                break;
            handle_key(&app, key);
        }
        if (app.flame.run && app.view != VIEW_FLAME)
            app_close_flame(&app); /* leaving the view ends the run and saves it */
    }
    app_close_flame(&app); /* quitting from the Flame view saves its profile too */
    terminal_stop();

    int status = 0;
    int signo = terminal_quit_signal();
    bool recorded = app.collector.recording;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", app.collector.path);
    if (collector_close(&app.collector, err, sizeof err) < 0) {
        fprintf(stderr, "stacktop: closing the session file: %s\n", err);
        status = 1;
    } else if (recorded) {
        fprintf(stderr, "stacktop: session saved to %s\n", path);
    }
    if (app.collector.record_error[0])
        fprintf(stderr, "stacktop: %s\n", app.collector.record_error);
    if (signo)
        fprintf(stderr, "stacktop: stopped by signal %d\n", signo);
    proc_details_free(&app.details.facts);
    if (app.stacks.have)
        stacks_snapshot_free(&app.stacks.snapshot);
    view_flame_free(&app);
    free(app.rows);
    for (size_t i = 0; i < app.theme_count; i++)
        free(app.theme_names[i]);
    free(app.theme_names);
    return status;
}

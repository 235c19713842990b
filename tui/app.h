/*
 * app: the console's state and main loop. The app owns the collector (data + recording), the
 * view options, the selection, and a stack-free notion of the current view; views draw from
 * this state and change it only through the actions bound in keys.c.
 *
 * Invariants:
 *   - the selection is a pid (selected_pid), not a row index: it survives re-sorts,
 *     filtering and refreshes; selected_index is recomputed from it after every rebuild;
 *   - rows point into the proctable and are rebuilt after every refresh;
 *   - nothing here knows colours: drawing asks theme_attr() for a role.
 */
#ifndef STACKTOP_APP_H
#define STACKTOP_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "collector.h"
#include "options.h"
#include "flame.h"
#include "procview.h"
#include "profile_run.h"
#include "stacks_snapshot.h"
#include "store.h"
#include "theme.h"

/* The views of the console. */
enum view_id {
    VIEW_PROCESSES, /* the process table (main view) */
    VIEW_DETAILS,   /* one process: identity, threads, sparklines */
    VIEW_HELP,      /* keys, generated from the binding table */
    VIEW_STACKS,    /* every thread's stack of one process, grouped */
    VIEW_FLAME,     /* live CPU profile of one process: flame graph, call tree, hot list */
    VIEW_COUNT
};

/* What typed characters currently go to. */
enum input_mode {
    INPUT_NONE,      /* keys are commands */
    INPUT_SEARCH,    /* keys edit the search text */
    INPUT_FILTER,    /* keys edit the filter text */
    INPUT_SORT_MENU, /* arrows pick the sort column */
};

#define APP_TEXT_MAX 128 /* longest search or filter text */

/* Screen geometry computed by the last draw, used by mouse handling. */
struct app_layout {
    int header_rows;                /* rows used by meters */
    int table_header_row;           /* screen row of the column titles, -1 if hidden */
    int table_top;                  /* first screen row of process rows */
    int table_rows;                 /* process rows that fit */
    int column_start[COLUMN_COUNT]; /* screen column where each table column starts */
    int column_end[COLUMN_COUNT];   /* one past its last cell */
    bool too_small;                 /* the terminal is below the minimum size */
};

/* Details view state. */
struct app_details {
    pid_t pid;                 /* process shown */
    uint64_t starttime_ticks;  /* its identity, to notice pid reuse */
    struct proc_details facts; /* cmdline, cwd, exe (read on open) */
    char error[256];           /* why facts are missing ("process 123 exited") */
    bool exited;               /* the process is gone; the view keeps the last data */
    int scroll;                /* first thread row shown */
};

/* Stacks view state. */
struct app_stacks {
    struct stacks_snapshot snapshot; /* the last capture and its analysis */
    bool have;                       /* snapshot holds a capture */
    pid_t pid;                       /* process captured */
    char error[512];                 /* why there is no capture ("permission denied: ...") */
    long selected;                   /* selected group */
    long scroll;                     /* first group shown */
    bool expanded;                   /* the selected group's stack and members are shown */
    int detail_scroll;               /* first line of the expanded part */
};

/* Layouts of the Flame view (l cycles them). */
enum flame_mode {
    FLAME_MODE_GRAPH, /* icicle flame graph, root at the top */
    FLAME_MODE_TREE,  /* top-down call tree, expandable, total% and self% */
    FLAME_MODE_HOT,   /* bottom-up: hottest functions by self samples */
    FLAME_MODE_COUNT
};

/* An expansion state the user chose for one call-tree node (else the default rule). */
struct app_flame_fold {
    const struct flame_node *node; /* the node */
    bool expanded;                 /* shown expanded (true) or collapsed (false) */
};

/* One visible line of the call tree. */
struct app_flame_line {
    const struct flame_node *node; /* the node on this line */
    int indent;                    /* depth below the root, for indentation */
};

/* Flame view state. The node pointers point into the run's tree, whose nodes live as long
 * as the run (the tree only grows while sampling). */
struct app_flame {
    struct profile_run *run;           /* the sampling run; NULL when it could not start */
    pid_t pid;                         /* process sampled */
    char comm[64];                     /* its name when the view opened (raw, sanitize to show) */
    char error[512];                   /* why there is no run ("perf_event_paranoid is 3: ...") */
    bool stopped;                      /* sampling stopped by p (the graph is kept) */
    enum flame_mode mode;              /* layout shown */
    bool color_by_heat;                /* colour cells by share of samples, not by module */
    const struct flame_node *zoom;     /* root of the graph; NULL for the tree's root */
    const struct flame_node *selected; /* selected frame (graph and call tree); NULL: zoom */
    char search[APP_TEXT_MAX];         /* frames whose name contains it are highlighted */
    struct flame_cell *cells;          /* the graph's layout from the last draw */
    size_t cell_count;                 /* entries of cells in use */
    size_t cell_capacity;              /* allocated cells */
    struct app_flame_fold *folds;      /* the user's expand/collapse choices in the call tree */
    size_t fold_count;                 /* entries of folds in use */
    size_t fold_capacity;              /* allocated folds */
    struct app_flame_line *lines;      /* visible call-tree lines (rebuilt on draw and keys) */
    size_t line_count;                 /* entries of lines in use */
    size_t line_capacity;              /* allocated lines */
    long hot_selected;                 /* selected entry of the hot-function list */
    long scroll;                       /* first line shown in the call tree or hot list */
    int page_rows;                     /* list rows that fitted in the last draw (paging) */
};

/* The whole console. */
struct app {
    const struct options *options;        /* command line */
    struct collector collector;           /* /proc + session database */
    struct theme theme;                   /* active theme */
    char **theme_names;                   /* themes available for cycling */
    size_t theme_count;                   /* entries in theme_names */
    size_t theme_index;                   /* index of the active theme in theme_names */
    bool allow_color;                     /* false when NO_COLOR is set */
    bool utf8;                            /* the terminal takes UTF-8 (box drawing, sparklines) */
    bool quit;                            /* leave the main loop */
    bool frozen;                          /* Space: no refresh until pressed again */
    enum view_id view;                    /* current view */
    enum input_mode input;                /* where keys go */
    struct procview_options view_options; /* sort, tree, threads, kernel threads, filter */
    char filter[APP_TEXT_MAX];            /* filter text (view_options.filter points here) */
    char search[APP_TEXT_MAX];            /* last search text */
    struct procview_row *rows;            /* visible rows */
    size_t row_count;                     /* entries in rows */
    size_t row_capacity;                  /* allocated rows */
    pid_t selected_pid;                   /* selection, by pid; 0 before the first refresh */
    long selected_index;                  /* row of selected_pid in rows, -1 if not visible */
    long scroll;                          /* first visible row */
    int sort_menu_index;                  /* highlighted entry of the sort menu */
    struct app_details details;           /* details view */
    int help_scroll;                      /* first help line shown */
    struct app_stacks stacks;             /* stacks view */
    struct app_flame flame;               /* flame view (live profile) */
    char status[256];                     /* transient message for the footer */
    double status_until;                  /* monotonic time at which status expires */
    double next_refresh;                  /* monotonic time of the next refresh */
    struct app_layout layout;             /* geometry of the last draw */
};

/* Runs the console until the user quits; returns the exit status. */
int app_run(const struct options *options, int argc, char **argv);

/* --- shared by views and key actions --- */

/* Rebuilds rows from the current table and view options, keeping the selection. */
void app_rebuild_rows(struct app *app);
/* Moves the selection to row index (clamped) and scrolls it into view. */
void app_select_index(struct app *app, long index);
/* Shows a message in the footer for a few seconds. */
void app_set_status(struct app *app, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Captures the selected process's stacks (or recaptures the shown one) and opens the view. */
void app_open_stacks(struct app *app, bool recapture);
/* Starts sampling the selected process (threads: their process) and opens the Flame view;
 * restart: sample the shown process again (a fresh run). An existing run is stopped and
 * stored first. */
void app_open_flame(struct app *app, bool restart);
/* Stops the Flame view's run, stores it as a profile snapshot and frees it (no-op without a
 * run). Called when the view is left and when the console quits. */
void app_close_flame(struct app *app);
/* Opens the details view for the selected process. */
void app_open_details(struct app *app);
/* Loads and activates a theme by name; problems (file:line) go to the footer. Returns the
 * number of problems (-1: no such theme, the built-in default is used). */
int app_load_theme(struct app *app, const char *name);
/* Seconds on the monotonic clock. */
double app_now(void);

#endif

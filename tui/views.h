/*
 * views: the console's views behind one table of operations (as tmux's window modes).
 * Each view draws the body area between the header and the footer from the app's state.
 */
#ifndef STACKTOP_VIEWS_H
#define STACKTOP_VIEWS_H

#include "app.h"

/* Operations of one view. */
struct view_ops {
    const char *name;                                           /* shown in the footer */
    bool shows_header;                                          /* draw the meters above it */
    void (*draw)(struct app *app, int top, int rows, int cols); /* draw the body */
    void (*footer_hints)(char *buf, size_t buflen); /* footer hints: "KEY label|KEY label" */
    void (*footer_right)(struct app *app, char *buf, size_t buflen); /* right side of the
                                                                        footer; NULL: session */
};

extern const struct view_ops view_processes_ops;
extern const struct view_ops view_details_ops;
extern const struct view_ops view_help_ops;
extern const struct view_ops view_stacks_ops;
extern const struct view_ops view_flame_ops;

/* --- Flame view navigation (view_flame.c), bound in keys.c --- */

/* Directions of a move in the Flame view. */
enum flame_move {
    FLAME_MOVE_LEFT,      /* graph: previous cell on the row; tree: collapse (or go to parent) */
    FLAME_MOVE_RIGHT,     /* graph: next cell on the row; tree: expand (or go to first child) */
    FLAME_MOVE_UP,        /* graph: the caller; tree and list: previous line */
    FLAME_MOVE_DOWN,      /* graph: the widest callee; tree and list: next line */
    FLAME_MOVE_PAGE_UP,   /* tree and list: one page up */
    FLAME_MOVE_PAGE_DOWN, /* tree and list: one page down */
};

/* Moves the selection of the Flame view. */
void view_flame_move(struct app *app, enum flame_move move);
/* Enter: graph zooms into the selected frame; tree expands/collapses it; list shows the
 * function in the graph, highlighted. */
void view_flame_enter(struct app *app);
/* Zooms out one level; returns false when already at the root. */
bool view_flame_zoom_out(struct app *app);
/* Selects the widest frame matching the search text (after '/' + Enter). */
void view_flame_select_match(struct app *app);
/* Forgets layout caches and user folds (a new run's tree). */
void view_flame_reset(struct app *app);
/* Frees the view's buffers. */
void view_flame_free(struct app *app);

/* The ops of a view id. */
const struct view_ops *views_get(enum view_id id);

#endif

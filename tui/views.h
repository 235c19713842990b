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

/* The ops of a view id. */
const struct view_ops *views_get(enum view_id id);

#endif

/*
 * view_help: the help screen, generated from the key binding table (keys.c) so that it is
 * always complete and true.
 */
#include <stdio.h>

#include "draw.h"
#include "keys.h"
#include "views.h"

#define HELP_MAX_LINES 160 /* more than the binding table can produce */

static void help_draw(struct app *app, int top, int rows, int cols)
{
    static char lines[HELP_MAX_LINES][128];
    size_t count = keys_help_lines(lines, HELP_MAX_LINES);
    if (count > HELP_MAX_LINES)
        count = HELP_MAX_LINES;
    draw_fill(top, 0, cols, THEME_TITLE);
    draw_text(top, 0, cols, "stacktop help: keys (Esc to go back)", THEME_TITLE);
    int body = rows - 1;
    int max_scroll = (int)count > body ? (int)count - body : 0;
    if (app->help_scroll > max_scroll)
        app->help_scroll = max_scroll;
    for (int i = 0; i < body && (size_t)(app->help_scroll + i) < count; i++) {
        const char *line = lines[app->help_scroll + i];
        bool heading = line[0] != ' ' && line[0] != '\0';
        draw_text(top + 1 + i, 0, cols, line, heading ? THEME_TITLE : THEME_DEFAULT);
        if (!heading && line[0]) {
            /* Key names in their own colour: the first 18 cells. */
            char keys_part[20];
            snprintf(keys_part, sizeof keys_part, "%.18s", line);
            draw_text(top + 1 + i, 0, cols, keys_part, THEME_HELP_KEY);
        }
    }
}

static void help_footer(char *buf, size_t buflen)
{
    snprintf(buf, buflen, "Esc Back|Up/Down Scroll|q Quit");
}

const struct view_ops view_help_ops = {"Help", false, help_draw, help_footer, NULL};

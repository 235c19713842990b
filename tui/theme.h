/*
 * theme: semantic roles mapped to colours and attributes. The model never knows colours; views
 * ask for a role's curses attribute with theme_attr(). Theme files (themes/NAME.theme) are
 * human-editable lines "role = foreground background [attribute...]" checked against the
 * compiled-in default; see docs/THEMES.md.
 *
 * Parsing (theme_parse, theme_load) is pure and has no curses dependency, so it is unit
 * tested; theme_activate() is the only part that talks to curses.
 */
#ifndef STACKTOP_THEME_H
#define STACKTOP_THEME_H

#include <stdbool.h>
#include <stddef.h>

/* X-macro: role id, name in theme files, help text. */
#define THEME_ROLES(X)                                                                             \
    X(THEME_DEFAULT, "default", "ordinary text and the background")                                \
    X(THEME_HEADER_LABEL, "header_label", "meter labels in the header (CPU, Mem, Swp, Load)")      \
    X(THEME_HEADER_VALUE, "header_value", "figures in the header (load, uptime, tasks)")           \
    X(THEME_METER_BRACKET, "meter_bracket", "the [ ] around a meter")                              \
    X(THEME_METER_TEXT, "meter_text", "the figure printed inside a meter")                         \
    X(THEME_METER_CPU_USER, "meter_cpu_user", "CPU meter: user time")                              \
    X(THEME_METER_CPU_NICE, "meter_cpu_nice", "CPU meter: niced user time")                        \
    X(THEME_METER_CPU_SYSTEM, "meter_cpu_system", "CPU meter: kernel time")                        \
    X(THEME_METER_CPU_IOWAIT, "meter_cpu_iowait", "CPU meter: I/O wait and steal")                 \
    X(THEME_METER_MEM_USED, "meter_mem_used", "memory meter: used")                                \
    X(THEME_METER_MEM_BUFFERS, "meter_mem_buffers", "memory meter: buffers")                       \
    X(THEME_METER_MEM_CACHE, "meter_mem_cache", "memory meter: page cache")                        \
    X(THEME_METER_SWAP, "meter_swap", "swap meter: used")                                          \
    X(THEME_TABLE_HEADER, "table_header", "the process table's column titles")                     \
    X(THEME_SORT_COLUMN, "sort_column", "the title of the sort column")                            \
    X(THEME_SELECTION, "selection", "the selected row")                                            \
    X(THEME_PROCESS, "process", "an ordinary process row")                                         \
    X(THEME_PROCESS_THREAD, "process_thread", "a thread row")                                      \
    X(THEME_PROCESS_KERNEL, "process_kernel", "a kernel thread row")                               \
    X(THEME_PROCESS_BASENAME, "process_basename", "the program name inside COMMAND")               \
    X(THEME_PROCESS_TREE, "process_tree", "tree lines in tree view")                               \
    X(THEME_PROCESS_LARGE, "process_large", "large figures (memory in M/G, CPU% >= 50)")           \
    X(THEME_STATE_RUNNING, "state_running", "state R")                                             \
    X(THEME_STATE_DISK_SLEEP, "state_disk_sleep", "state D (uninterruptible)")                     \
    X(THEME_STATE_ZOMBIE, "state_zombie", "state Z")                                               \
    X(THEME_STATE_STOPPED, "state_stopped", "states T and t (stopped, traced)")                    \
    X(THEME_SEARCH_MATCH, "search_match", "the search or filter text while typing")                \
    X(THEME_FOOTER, "footer", "the footer bar")                                                    \
    X(THEME_FOOTER_KEY, "footer_key", "key names in the footer")                                   \
    X(THEME_STATUS, "status", "status messages and the session path")                              \
    X(THEME_WARNING, "warning", "warnings and errors")                                             \
    X(THEME_FROZEN, "frozen", "the FROZEN indicator")                                              \
    X(THEME_SPARKLINE, "sparkline", "history sparklines")                                          \
    X(THEME_TITLE, "title", "view titles and section headings")                                    \
    X(THEME_HELP_KEY, "help_key", "key names in the help view")

enum theme_role {
#define THEME_ROLE_ENUM(id, name, help) id,
    THEME_ROLES(THEME_ROLE_ENUM)
#undef THEME_ROLE_ENUM
        THEME_ROLE_COUNT
};

/* Attribute bits of a role (independent of curses' A_* values). */
enum theme_attribute {
    THEME_ATTR_BOLD = 1 << 0,      /* bold */
    THEME_ATTR_DIM = 1 << 1,       /* dim */
    THEME_ATTR_REVERSE = 1 << 2,   /* reverse video */
    THEME_ATTR_UNDERLINE = 1 << 3, /* underline */
    THEME_ATTR_ITALIC = 1 << 4,    /* italic */
};

/* Colour numbers: -1 terminal default, 0..7 the ANSI colours, 8..15 bright, up to 255. */
#define THEME_COLOR_DEFAULT (-1)

/* One role's look. */
struct theme_style {
    short foreground;    /* colour number, THEME_COLOR_DEFAULT for the terminal's */
    short background;    /* colour number, THEME_COLOR_DEFAULT for the terminal's */
    unsigned attributes; /* THEME_ATTR_* bits */
};

/* A complete theme. */
struct theme {
    char name[64];                               /* file name without .theme ("default") */
    char description[128];                       /* "description = ..." line, if any */
    bool uses_color;                             /* false for mono: attributes only */
    struct theme_style styles[THEME_ROLE_COUNT]; /* one style per role */
};

/* Called once per problem found while parsing: file name, 1-based line, message. */
typedef void (*theme_warning_fn)(void *context, const char *file, int line, const char *message);

/* The compiled-in default (dark) theme. */
void theme_builtin_default(struct theme *out);

/* Parses theme text. Starts from the built-in default; every malformed line is reported through
 * warn (file and line) and leaves that role at the built-in default. Returns the number of
 * warnings. Pure: no I/O. */
int theme_parse(const char *text, size_t length, const char *file, struct theme *out,
                theme_warning_fn warn, void *context);

/* Finds NAME.theme in the theme directories ($STACKTOP_THEME_DIR, $XDG_CONFIG_HOME/stacktop/
 * themes, ~/.config/stacktop/themes, the installed and the source themes/ directories) and
 * parses it. When no file is found, fills the built-in default and returns -1 with a warning
 * through warn (file = NAME). Returns the number of warnings otherwise. */
int theme_load(const char *name, struct theme *out, theme_warning_fn warn, void *context);

/* Names of the available themes (sorted, unique, at least "default"); fills up to max names
 * into names (each a malloc'ed string) and returns the count. */
size_t theme_list(char **names, size_t max);

/* Role by file name ("selection"), or -1. */
int theme_role_from_name(const char *name);
const char *theme_role_name(enum theme_role role);

/* Added with theme.c: */

/* theme_parse that also reports which roles the text set by a valid line (roles_set may be
 * NULL). Lets a test prove that a shipped theme sets every role explicitly. */
int theme_parse_marking_roles(const char *text, size_t length, const char *file, struct theme *out,
                              bool roles_set[THEME_ROLE_COUNT], theme_warning_fn warn,
                              void *context);
/* A role's help text from THEME_ROLES (for a help or theme view). */
const char *theme_role_help(enum theme_role role);
/* The theme-file word for a colour number ("default", "red", "bright-cyan"), or NULL for
 * 16..255, which files spell as numbers. */
const char *theme_color_name(short number);
/* Whether NAME may name a theme: non-empty, shorter than struct theme.name, no '/', not
 * starting with '.', no control characters. theme_load refuses other names (theme "default"
 * is always available: when no default.theme is found the built-in one is used silently). */
bool theme_name_is_valid(const char *name);

/* --- curses side (theme_curses.c) --- */

/* Makes the theme current: allocates colour pairs when the terminal has colours, colour is
 * wanted (no NO_COLOR, theme->uses_color) and start_color() succeeded; else attributes only. */
void theme_activate(const struct theme *theme, bool allow_color);
/* The curses attribute (pair and A_* bits) of a role in the active theme. */
unsigned long theme_attr(enum theme_role role);

#endif

/*
 * theme: the pure half of theming (no curses): the role, colour and attribute vocabularies,
 * the compiled-in default theme, the theme-file parser, and the search of theme directories.
 *
 * Invariants:
 *   - builtin_styles is themes/default.theme, role for role (test_theme compares them); a
 *     change to one is a change to both.
 *   - Parsing never fails: a bad line is reported ("FILE:LINE: message" is the callback's to
 *     print) and ignored, so the role keeps what it had (the built-in default unless an earlier
 *     line of the same file set it). Each key may be set once; repeats are reported and ignored.
 *   - Every piece of file text quoted in a warning or kept in the theme (description) has been
 *     through sanitize_string: a theme file cannot write escape sequences to the terminal.
 *   - Vocabularies are tables: roles come from THEME_ROLES, colours and attributes from
 *     color_names and attribute_names; the parser and docs/THEMES.md follow them.
 */
#include "theme.h"

#include "sanitize.h"
#include "xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Theme files larger than this are refused (a theme is a few kilobytes). */
#define THEME_FILE_MAX (64 * 1024)
/* Words after '=' on a role line: two colours and a handful of attributes. */
#define THEME_WORDS_MAX 16
/* Bytes of struct theme.name, NUL included. */
#define THEME_NAME_MAX     sizeof(((struct theme *)0)->name)
#define THEME_COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* Colour numbers of the basic and bright palette, for the built-in table. */
enum theme_palette {
    PALETTE_DEFAULT = THEME_COLOR_DEFAULT,
    PALETTE_BLACK = 0,
    PALETTE_RED,
    PALETTE_GREEN,
    PALETTE_YELLOW,
    PALETTE_BLUE,
    PALETTE_MAGENTA,
    PALETTE_CYAN,
    PALETTE_WHITE,
    PALETTE_BRIGHT_BLACK,
};

/* A colour as spelled in theme files. */
struct theme_color_name {
    const char *name; /* word in theme files */
    short number;     /* colour number, THEME_COLOR_DEFAULT for "default" */
};

static const struct theme_color_name color_names[] = {
    {"default", THEME_COLOR_DEFAULT},
    {"black", 0},
    {"red", 1},
    {"green", 2},
    {"yellow", 3},
    {"blue", 4},
    {"magenta", 5},
    {"cyan", 6},
    {"white", 7},
    {"bright-black", 8},
    {"bright-red", 9},
    {"bright-green", 10},
    {"bright-yellow", 11},
    {"bright-blue", 12},
    {"bright-magenta", 13},
    {"bright-cyan", 14},
    {"bright-white", 15},
};

/* An attribute as spelled in theme files. */
struct theme_attribute_name {
    const char *name; /* word in theme files */
    unsigned bit;     /* THEME_ATTR_* */
};

static const struct theme_attribute_name attribute_names[] = {
    {"bold", THEME_ATTR_BOLD},       {"dim", THEME_ATTR_DIM},
    {"reverse", THEME_ATTR_REVERSE}, {"underline", THEME_ATTR_UNDERLINE},
    {"italic", THEME_ATTR_ITALIC},
};

/* Yes/no words of "color = ...". */
struct theme_boolean_name {
    const char *name; /* word in theme files */
    bool value;       /* what it means */
};

static const struct theme_boolean_name boolean_names[] = {
    {"yes", true}, {"no", false}, {"true", true}, {"false", false}, {"on", true}, {"off", false},
};

static const char *const role_names[THEME_ROLE_COUNT] = {
#define THEME_ROLE_NAME(id, name, help) [id] = name,
    THEME_ROLES(THEME_ROLE_NAME)
#undef THEME_ROLE_NAME
};

static const char *const role_helps[THEME_ROLE_COUNT] = {
#define THEME_ROLE_HELP(id, name, help) [id] = help,
    THEME_ROLES(THEME_ROLE_HELP)
#undef THEME_ROLE_HELP
};

#define BOLD THEME_ATTR_BOLD

/* The compiled-in default: must equal themes/default.theme. */
static const char builtin_description[] =
    "dark, htop-like: cyan, green and red on the terminal's background";

static const struct theme_style builtin_styles[THEME_ROLE_COUNT] = {
    [THEME_DEFAULT] = {PALETTE_DEFAULT, PALETTE_DEFAULT, 0},
    [THEME_HEADER_LABEL] = {PALETTE_CYAN, PALETTE_DEFAULT, 0},
    [THEME_HEADER_VALUE] = {PALETTE_CYAN, PALETTE_DEFAULT, BOLD},
    [THEME_METER_BRACKET] = {PALETTE_WHITE, PALETTE_DEFAULT, BOLD},
    [THEME_METER_TEXT] = {PALETTE_WHITE, PALETTE_DEFAULT, 0},
    [THEME_METER_CPU_USER] = {PALETTE_GREEN, PALETTE_DEFAULT, 0},
    [THEME_METER_CPU_NICE] = {PALETTE_BLUE, PALETTE_DEFAULT, BOLD},
    [THEME_METER_CPU_SYSTEM] = {PALETTE_RED, PALETTE_DEFAULT, 0},
    [THEME_METER_CPU_IOWAIT] = {PALETTE_MAGENTA, PALETTE_DEFAULT, 0},
    [THEME_METER_MEM_USED] = {PALETTE_GREEN, PALETTE_DEFAULT, 0},
    [THEME_METER_MEM_BUFFERS] = {PALETTE_BLUE, PALETTE_DEFAULT, BOLD},
    [THEME_METER_MEM_CACHE] = {PALETTE_YELLOW, PALETTE_DEFAULT, 0},
    [THEME_METER_SWAP] = {PALETTE_RED, PALETTE_DEFAULT, 0},
    [THEME_TABLE_HEADER] = {PALETTE_BLACK, PALETTE_GREEN, 0},
    [THEME_SORT_COLUMN] = {PALETTE_BLACK, PALETTE_CYAN, BOLD},
    [THEME_SELECTION] = {PALETTE_BLACK, PALETTE_CYAN, 0},
    [THEME_PROCESS] = {PALETTE_DEFAULT, PALETTE_DEFAULT, 0},
    [THEME_PROCESS_THREAD] = {PALETTE_GREEN, PALETTE_DEFAULT, 0},
    [THEME_PROCESS_KERNEL] = {PALETTE_BRIGHT_BLACK, PALETTE_DEFAULT, 0},
    [THEME_PROCESS_BASENAME] = {PALETTE_CYAN, PALETTE_DEFAULT, BOLD},
    [THEME_PROCESS_TREE] = {PALETTE_CYAN, PALETTE_DEFAULT, 0},
    [THEME_PROCESS_LARGE] = {PALETTE_CYAN, PALETTE_DEFAULT, BOLD},
    [THEME_STATE_RUNNING] = {PALETTE_GREEN, PALETTE_DEFAULT, BOLD},
    [THEME_STATE_DISK_SLEEP] = {PALETTE_RED, PALETTE_DEFAULT, BOLD},
    [THEME_STATE_ZOMBIE] = {PALETTE_MAGENTA, PALETTE_DEFAULT, BOLD},
    [THEME_STATE_STOPPED] = {PALETTE_YELLOW, PALETTE_DEFAULT, 0},
    [THEME_SEARCH_MATCH] = {PALETTE_BLACK, PALETTE_YELLOW, 0},
    [THEME_FOOTER] = {PALETTE_BLACK, PALETTE_CYAN, 0},
    [THEME_FOOTER_KEY] = {PALETTE_WHITE, PALETTE_BLACK, BOLD},
    [THEME_STATUS] = {PALETTE_CYAN, PALETTE_DEFAULT, 0},
    [THEME_WARNING] = {PALETTE_RED, PALETTE_DEFAULT, BOLD},
    [THEME_FROZEN] = {PALETTE_WHITE, PALETTE_RED, BOLD},
    [THEME_SPARKLINE] = {PALETTE_GREEN, PALETTE_DEFAULT, 0},
    [THEME_TITLE] = {PALETTE_GREEN, PALETTE_DEFAULT, BOLD},
    [THEME_HELP_KEY] = {PALETTE_CYAN, PALETTE_DEFAULT, BOLD},
};

#undef BOLD

/* Keys that are not roles, numbered after the roles in theme_parser.set_on_line. */
enum theme_setting_key {
    SETTING_DESCRIPTION = THEME_ROLE_COUNT,
    SETTING_COLOR,
    SETTING_KEY_COUNT,
};

/* A word of a line: a slice of the theme text (not NUL-terminated). */
struct theme_word {
    const char *start; /* first byte */
    size_t length;     /* bytes */
};

/* State of one theme_parse run. */
struct theme_parser {
    const char *file;                   /* file name used in warnings */
    int line;                           /* 1-based number of the line being parsed */
    theme_warning_fn warn;              /* warning callback, may be NULL */
    void *context;                      /* the callback's first argument */
    int warnings;                       /* warnings reported so far */
    int set_on_line[SETTING_KEY_COUNT]; /* line where each role or setting was set, 0 if not */
};

/* A non-role key and how its value is applied; returns false after reporting a problem. */
struct theme_setting {
    const char *name;           /* key in theme files */
    enum theme_setting_key key; /* slot in theme_parser.set_on_line */
    bool (*apply)(struct theme_parser *parser, struct theme *theme, struct theme_word value);
};

static void theme_warn(struct theme_parser *parser, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void theme_warn(struct theme_parser *parser, const char *format, ...)
{
    char message[256];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(message, sizeof message, format, arguments);
    va_end(arguments);
    parser->warnings++;
    if (parser->warn)
        parser->warn(parser->context, parser->file, parser->line, message);
}

/* A word of file text made safe to quote in a message (sanitized, at most 40 bytes). */
struct theme_quote {
    char text[48]; /* sanitized, NUL-terminated */
};

static struct theme_quote theme_quote_word(struct theme_word word)
{
    struct theme_quote quote;
    sanitize_string(word.start, word.length, quote.text, sizeof quote.text, true);
    return quote;
}

static bool theme_word_is(struct theme_word word, const char *name)
{
    return strlen(name) == word.length && strncasecmp(word.start, name, word.length) == 0;
}

static bool theme_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static struct theme_word theme_trim(const char *start, size_t length)
{
    while (length > 0 && theme_is_blank(start[0]))
        start++, length--;
    while (length > 0 && theme_is_blank(start[length - 1]))
        length--;
    return (struct theme_word){start, length};
}

/* Splits text into blank-separated words up to a word starting with '#' (a comment). Returns
 * the number of words, or max + 1 when there are more than max. */
static size_t theme_split_words(struct theme_word text, struct theme_word *words, size_t max)
{
    size_t count = 0, i = 0;
    while (i < text.length) {
        while (i < text.length && theme_is_blank(text.start[i]))
            i++;
        if (i == text.length || text.start[i] == '#')
            break;
        size_t begin = i;
        while (i < text.length && !theme_is_blank(text.start[i]))
            i++;
        if (count == max)
            return max + 1;
        words[count++] = (struct theme_word){text.start + begin, i - begin};
    }
    return count;
}

/* Parses a colour word into *number; reports and returns false when it is not one. */
static bool theme_parse_color(struct theme_parser *parser, struct theme_word word, short *number)
{
    for (size_t i = 0; i < THEME_COUNT(color_names); i++) {
        if (theme_word_is(word, color_names[i].name)) {
            *number = color_names[i].number;
            return true;
        }
    }
    size_t digits = 0;
    while (digits < word.length && word.start[digits] >= '0' && word.start[digits] <= '9')
        digits++;
    if (digits == 0 || digits != word.length) {
        theme_warn(parser, "unknown colour '%s' (a colour name, bright-NAME or 0..255)",
                   theme_quote_word(word).text);
        return false;
    }
    long value = 0;
    for (size_t i = 0; i < digits && value <= 255; i++)
        value = value * 10 + (word.start[i] - '0');
    if (value > 255) {
        theme_warn(parser, "colour %s out of range (0..255)", theme_quote_word(word).text);
        return false;
    }
    *number = (short)value;
    return true;
}

static bool theme_parse_attribute(struct theme_parser *parser, struct theme_word word,
                                  unsigned *attributes)
{
    for (size_t i = 0; i < THEME_COUNT(attribute_names); i++) {
        if (theme_word_is(word, attribute_names[i].name)) {
            *attributes |= attribute_names[i].bit;
            return true;
        }
    }
    theme_warn(parser, "unknown attribute '%s' (bold, dim, reverse, underline or italic)",
               theme_quote_word(word).text);
    return false;
}

/* "ROLE = FOREGROUND BACKGROUND [ATTRIBUTE...]" */
static bool theme_apply_role(struct theme_parser *parser, struct theme *theme, enum theme_role role,
                             struct theme_word value)
{
    struct theme_word words[THEME_WORDS_MAX];
    size_t count = theme_split_words(value, words, THEME_WORDS_MAX);
    if (count > THEME_WORDS_MAX) {
        theme_warn(parser, "too many words after '%s ='", role_names[role]);
        return false;
    }
    if (count < 2) {
        theme_warn(parser, "expected '%s = FOREGROUND BACKGROUND [ATTRIBUTE...]'",
                   role_names[role]);
        return false;
    }
    struct theme_style style = {THEME_COLOR_DEFAULT, THEME_COLOR_DEFAULT, 0};
    if (!theme_parse_color(parser, words[0], &style.foreground) ||
        !theme_parse_color(parser, words[1], &style.background))
        return false;
    for (size_t i = 2; i < count; i++) {
        if (!theme_parse_attribute(parser, words[i], &style.attributes))
            return false;
    }
    theme->styles[role] = style;
    return true;
}

/* "description = free text" (kept sanitized; a '#' is part of the text) */
static bool theme_apply_description(struct theme_parser *parser, struct theme *theme,
                                    struct theme_word value)
{
    (void)parser;
    sanitize_string(value.start, value.length, theme->description, sizeof theme->description, true);
    return true;
}

/* "color = yes|no" */
static bool theme_apply_color(struct theme_parser *parser, struct theme *theme,
                              struct theme_word value)
{
    struct theme_word words[2];
    if (theme_split_words(value, words, 1) == 1) {
        for (size_t i = 0; i < THEME_COUNT(boolean_names); i++) {
            if (theme_word_is(words[0], boolean_names[i].name)) {
                theme->uses_color = boolean_names[i].value;
                return true;
            }
        }
    }
    theme_warn(parser, "expected 'color = yes' or 'color = no'");
    return false;
}

static const struct theme_setting settings[] = {
    {"description", SETTING_DESCRIPTION, theme_apply_description},
    {"color", SETTING_COLOR, theme_apply_color},
};

/* Whether key may be set on this line; reports a repeat. */
static bool theme_first_setting(struct theme_parser *parser, int key, struct theme_word name)
{
    if (parser->set_on_line[key] == 0)
        return true;
    theme_warn(parser, "'%s' already set on line %d; this line is ignored",
               theme_quote_word(name).text, parser->set_on_line[key]);
    return false;
}

static void theme_parse_line(struct theme_parser *parser, struct theme *theme,
                             struct theme_word line)
{
    line = theme_trim(line.start, line.length);
    if (line.length == 0 || line.start[0] == '#')
        return;
    if (memchr(line.start, '\0', line.length)) {
        theme_warn(parser, "NUL byte in line");
        return;
    }
    const char *equals = memchr(line.start, '=', line.length);
    if (!equals) {
        theme_warn(parser, "missing '=' (expected 'ROLE = FOREGROUND BACKGROUND [ATTRIBUTE...]')");
        return;
    }
    struct theme_word key = theme_trim(line.start, (size_t)(equals - line.start));
    struct theme_word value =
        theme_trim(equals + 1, line.length - (size_t)(equals + 1 - line.start));
    if (key.length == 0) {
        theme_warn(parser, "missing role name before '='");
        return;
    }
    for (size_t i = 0; i < THEME_COUNT(settings); i++) {
        if (!theme_word_is(key, settings[i].name))
            continue;
        if (theme_first_setting(parser, settings[i].key, key) &&
            settings[i].apply(parser, theme, value))
            parser->set_on_line[settings[i].key] = parser->line;
        return;
    }
    for (int role = 0; role < THEME_ROLE_COUNT; role++) {
        if (!theme_word_is(key, role_names[role]))
            continue;
        if (theme_first_setting(parser, role, key) &&
            theme_apply_role(parser, theme, (enum theme_role)role, value))
            parser->set_on_line[role] = parser->line;
        return;
    }
    theme_warn(parser, "unknown role '%s'", theme_quote_word(key).text);
}

/* The theme name a file path stands for: its base name without ".theme". */
static void theme_name_from_file(const char *file, char *name, size_t size)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t length = strlen(base);
    static const char suffix[] = ".theme";
    if (length > sizeof suffix - 1 && strcmp(base + length - (sizeof suffix - 1), suffix) == 0)
        length -= sizeof suffix - 1;
    sanitize_string(base, length, name, size, true);
}

void theme_builtin_default(struct theme *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", "default");
    snprintf(out->description, sizeof out->description, "%s", builtin_description);
    out->uses_color = true;
    memcpy(out->styles, builtin_styles, sizeof out->styles);
}

int theme_parse_marking_roles(const char *text, size_t length, const char *file, struct theme *out,
                              bool roles_set[THEME_ROLE_COUNT], theme_warning_fn warn,
                              void *context)
{
    struct theme_parser parser = {
        .file = file ? file : "(theme)", .warn = warn, .context = context};
    theme_builtin_default(out);
    out->description[0] = '\0';
    if (file)
        theme_name_from_file(file, out->name, sizeof out->name);

    size_t position = 0;
    while (position < length) {
        const char *start = text + position;
        const char *newline = memchr(start, '\n', length - position);
        size_t line_length = newline ? (size_t)(newline - start) : length - position;
        parser.line++;
        theme_parse_line(&parser, out, (struct theme_word){start, line_length});
        position += line_length + (newline ? 1 : 0);
    }
    if (roles_set) {
        for (int role = 0; role < THEME_ROLE_COUNT; role++)
            roles_set[role] = parser.set_on_line[role] != 0;
    }
    return parser.warnings;
}

int theme_parse(const char *text, size_t length, const char *file, struct theme *out,
                theme_warning_fn warn, void *context)
{
    return theme_parse_marking_roles(text, length, file, out, NULL, warn, context);
}

int theme_role_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int role = 0; role < THEME_ROLE_COUNT; role++) {
        if (strcasecmp(name, role_names[role]) == 0)
            return role;
    }
    return -1;
}

const char *theme_role_name(enum theme_role role)
{
    return (unsigned)role < THEME_ROLE_COUNT ? role_names[role] : "?";
}

const char *theme_role_help(enum theme_role role)
{
    return (unsigned)role < THEME_ROLE_COUNT ? role_helps[role] : "?";
}

const char *theme_color_name(short number)
{
    for (size_t i = 0; i < THEME_COUNT(color_names); i++) {
        if (color_names[i].number == number)
            return color_names[i].name;
    }
    return NULL;
}

bool theme_name_is_valid(const char *name)
{
    if (!name || name[0] == '\0' || name[0] == '.' || strlen(name) >= THEME_NAME_MAX)
        return false;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        if (*c == '/' || *c < 0x20 || *c == 0x7F)
            return false;
    }
    return true;
}

/* --- theme directories --- */

/* The directories searched for NAME.theme, most specific first. */
struct theme_directories {
    char *paths[4]; /* heap strings; count of them are set */
    size_t count;   /* directories in paths */
};

static void theme_directories_add(struct theme_directories *directories, char *path)
{
    if (directories->count < THEME_COUNT(directories->paths))
        directories->paths[directories->count++] = path;
    else
        free(path);
}

static void theme_directories_find(struct theme_directories *directories)
{
    directories->count = 0;
    const char *explicit_dir = getenv("STACKTOP_THEME_DIR");
    if (explicit_dir && explicit_dir[0])
        theme_directories_add(directories, xstrdup(explicit_dir));
    /* XDG: a relative $XDG_CONFIG_HOME is invalid and ignored, like an unset one. */
    const char *config = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (config && config[0] == '/')
        theme_directories_add(directories, xasprintf("%s/stacktop/themes", config));
    else if (home && home[0])
        theme_directories_add(directories, xasprintf("%s/.config/stacktop/themes", home));
#ifdef STACKTOP_INSTALL_THEMES_DIR
    theme_directories_add(directories, xstrdup(STACKTOP_INSTALL_THEMES_DIR));
#endif
#ifdef STACKTOP_SOURCE_THEMES_DIR
    theme_directories_add(directories, xstrdup(STACKTOP_SOURCE_THEMES_DIR));
#endif
}

static void theme_directories_free(struct theme_directories *directories)
{
    for (size_t i = 0; i < directories->count; i++)
        free(directories->paths[i]);
    directories->count = 0;
}

/* What became of looking for a theme file in one directory. */
enum theme_read_result {
    THEME_READ_OK,       /* *text holds the file */
    THEME_READ_ABSENT,   /* no such file here: look further */
    THEME_READ_UNUSABLE, /* present but unreadable, not a file, or too large (reported) */
};

static enum theme_read_result theme_read_file(const char *path, char **text, size_t *length,
                                              struct theme_parser *parser)
{
    enum theme_read_result result = THEME_READ_UNUSABLE;
    char *buffer = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return THEME_READ_ABSENT;
        theme_warn(parser, "cannot open: %s", strerror(errno));
        return THEME_READ_UNUSABLE;
    }
    struct stat status;
    if (fstat(fd, &status) != 0) {
        theme_warn(parser, "cannot stat: %s", strerror(errno));
        goto close_fd;
    }
    if (!S_ISREG(status.st_mode)) {
        theme_warn(parser, "not a regular file");
        goto close_fd;
    }
    buffer = xmalloc(THEME_FILE_MAX + 1);
    size_t filled = 0;
    for (;;) {
        ssize_t got = read(fd, buffer + filled, THEME_FILE_MAX + 1 - filled);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            theme_warn(parser, "cannot read: %s", strerror(errno));
            goto free_buffer;
        }
        if (got == 0)
            break;
        filled += (size_t)got;
        if (filled > THEME_FILE_MAX) {
            theme_warn(parser, "larger than %d KiB; not a theme file", THEME_FILE_MAX / 1024);
            goto free_buffer;
        }
    }
    *text = buffer;
    *length = filled;
    buffer = NULL;
    result = THEME_READ_OK;

free_buffer:
    free(buffer);
close_fd:
    close(fd);
    return result;
}

int theme_load(const char *name, struct theme *out, theme_warning_fn warn, void *context)
{
    struct theme_parser parser = {.file = name ? name : "(null)", .warn = warn, .context = context};
    if (!theme_name_is_valid(name)) {
        char quoted[80];
        sanitize_string(parser.file, strlen(parser.file), quoted, sizeof quoted, true);
        theme_builtin_default(out);
        theme_warn(&parser,
                   "invalid theme name '%s' (no '/', not starting with '.'); using the "
                   "built-in default",
                   quoted);
        return -1;
    }

    struct theme_directories directories;
    theme_directories_find(&directories);
    int warnings = -1;
    enum theme_read_result result = THEME_READ_ABSENT;
    for (size_t i = 0; i < directories.count && result == THEME_READ_ABSENT; i++) {
        char *path = xasprintf("%s/%s.theme", directories.paths[i], name);
        char *text = NULL;
        size_t length = 0;
        parser.file = path;
        parser.line = 0;
        result = theme_read_file(path, &text, &length, &parser);
        if (result == THEME_READ_OK) {
            warnings = theme_parse(text, length, path, out, warn, context);
            snprintf(out->name, sizeof out->name, "%s", name);
            free(text);
        }
        free(path);
    }
    theme_directories_free(&directories);

    parser.file = name;
    parser.line = 0;
    if (result == THEME_READ_ABSENT && strcmp(name, "default") == 0) {
        theme_builtin_default(out); /* "default" always exists: it is compiled in */
        return 0;
    }
    if (result == THEME_READ_ABSENT) {
        theme_builtin_default(out);
        theme_warn(&parser, "theme '%s' not found; using the built-in default", name);
        return -1;
    }
    if (result == THEME_READ_UNUSABLE) {
        theme_builtin_default(out);
        theme_warn(&parser, "theme '%s' cannot be used; using the built-in default", name);
        return -1;
    }
    return warnings;
}

static int theme_compare_names(const void *left, const void *right)
{
    return strcmp(*(char *const *)left, *(char *const *)right);
}

size_t theme_list(char **names, size_t max)
{
    char **found = NULL;
    size_t count = 0, capacity = 0;
    xgrow((void **)&found, &capacity, count + 1, sizeof *found);
    found[count++] = xstrdup("default");

    struct theme_directories directories;
    theme_directories_find(&directories);
    for (size_t i = 0; i < directories.count; i++) {
        DIR *directory = opendir(directories.paths[i]);
        if (!directory)
            continue;
        struct dirent *entry;
        while ((entry = readdir(directory)) != NULL) {
            size_t length = strlen(entry->d_name);
            static const char suffix[] = ".theme";
            if (length <= sizeof suffix - 1 ||
                strcmp(entry->d_name + length - (sizeof suffix - 1), suffix) != 0)
                continue;
            char *name = xstrndup(entry->d_name, length - (sizeof suffix - 1));
            if (!theme_name_is_valid(name)) {
                free(name);
                continue;
            }
            xgrow((void **)&found, &capacity, count + 1, sizeof *found);
            found[count++] = name;
        }
        closedir(directory);
    }
    theme_directories_free(&directories);

    qsort(found, count, sizeof *found, theme_compare_names);
    size_t unique = 0;
    for (size_t i = 0; i < count; i++) {
        if (unique > 0 && strcmp(found[i], found[unique - 1]) == 0)
            free(found[i]);
        else
            found[unique++] = found[i];
    }
    size_t filled = 0;
    for (size_t i = 0; i < unique; i++) {
        if (filled < max)
            names[filled++] = found[i];
        else
            free(found[i]);
    }
    free(found);
    return filled;
}

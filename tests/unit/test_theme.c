/*
 * test_theme: tui/theme.c (the pure half; theme_activate needs a terminal and is not called).
 * The shipped themes parse cleanly and set every role; themes/default.theme equals the
 * compiled-in default; malformed lines are reported with file and line and leave the role at
 * its default; theme_load searches $STACKTOP_THEME_DIR first, refuses bad names and falls back
 * to the built-in default with a warning; theme_list is sorted and unique.
 */
#include "check.h"
#include "theme.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WARNINGS_MAX 32

/* Warnings collected from the parser. */
struct collected_warnings {
    int count;                       /* warnings received (may exceed WARNINGS_MAX) */
    char file[WARNINGS_MAX][512];    /* file argument of each */
    int line[WARNINGS_MAX];          /* line argument of each */
    char message[WARNINGS_MAX][256]; /* message of each */
};

static void collect_warning(void *context, const char *file, int line, const char *message)
{
    struct collected_warnings *warnings = context;
    if (warnings->count < WARNINGS_MAX) {
        snprintf(warnings->file[warnings->count], sizeof warnings->file[0], "%s", file);
        warnings->line[warnings->count] = line;
        snprintf(warnings->message[warnings->count], sizeof warnings->message[0], "%s", message);
    }
    warnings->count++;
}

static void print_warning(void *context, const char *file, int line, const char *message)
{
    (void)context;
    fprintf(stderr, "%s:%d: %s\n", file, line, message);
}

/* Reads a whole file into a fresh NUL-terminated buffer; NULL on failure. */
static char *read_text(const char *path, size_t *length)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    char *text = malloc(1 << 17);
    size_t got = fread(text, 1, (1 << 17) - 1, file);
    fclose(file);
    text[got] = '\0';
    *length = got;
    return text;
}

static bool styles_equal(const struct theme_style *a, const struct theme_style *b)
{
    return a->foreground == b->foreground && a->background == b->background &&
           a->attributes == b->attributes;
}

static void check_same_as_builtin(const struct theme *theme, const char *what)
{
    struct theme builtin;
    theme_builtin_default(&builtin);
    for (int role = 0; role < THEME_ROLE_COUNT; role++) {
        if (!styles_equal(&theme->styles[role], &builtin.styles[role])) {
            fprintf(stderr, "%s: role %s differs from the built-in default\n", what,
                    theme_role_name((enum theme_role)role));
            CHECK(!"role differs from the built-in default");
        }
    }
    CHECK_INT(theme->uses_color, builtin.uses_color);
}

/* Parses a shipped theme: 0 warnings, every role set explicitly, a description. */
static void check_shipped_theme(const char *name, struct theme *theme)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.theme", TEST_THEMES_DIR, name);
    size_t length = 0;
    char *text = read_text(path, &length);
    CHECK(text != NULL);
    if (!text)
        return;
    bool roles_set[THEME_ROLE_COUNT];
    int warnings =
        theme_parse_marking_roles(text, length, path, theme, roles_set, print_warning, NULL);
    CHECK_INT(warnings, 0);
    for (int role = 0; role < THEME_ROLE_COUNT; role++) {
        if (!roles_set[role]) {
            fprintf(stderr, "%s: role %s not set\n", path, theme_role_name((enum theme_role)role));
            CHECK(!"shipped theme leaves a role unset");
        }
    }
    CHECK_STR(theme->name, name);
    CHECK(theme->description[0] != '\0');
    free(text);
}

static void test_shipped_themes(void)
{
    struct theme theme, builtin;
    theme_builtin_default(&builtin);

    check_shipped_theme("default", &theme);
    check_same_as_builtin(&theme, "themes/default.theme");
    CHECK_STR(theme.name, builtin.name);
    CHECK_STR(theme.description, builtin.description);

    check_shipped_theme("light", &theme);
    CHECK(theme.uses_color);
    for (int role = 0; role < THEME_ROLE_COUNT; role++) {
        short fg = theme.styles[role].foreground;
        bool pale = fg == 3 || fg == 7 || fg == 11 || fg == 15 || fg >= 16;
        if (theme.styles[role].background == THEME_COLOR_DEFAULT && pale) {
            fprintf(stderr, "light: %s is pale text on the default background\n",
                    theme_role_name((enum theme_role)role));
            CHECK(!"light theme: pale text on the default background");
        }
    }

    check_shipped_theme("mono", &theme);
    CHECK(!theme.uses_color);
    for (int role = 0; role < THEME_ROLE_COUNT; role++) {
        CHECK_INT(theme.styles[role].foreground, THEME_COLOR_DEFAULT);
        CHECK_INT(theme.styles[role].background, THEME_COLOR_DEFAULT);
    }
    CHECK(theme.styles[THEME_SELECTION].attributes & THEME_ATTR_REVERSE);
    CHECK(theme.styles[THEME_TABLE_HEADER].attributes != 0);
    CHECK(theme.styles[THEME_SORT_COLUMN].attributes !=
          theme.styles[THEME_TABLE_HEADER].attributes);

    check_shipped_theme("high-contrast", &theme);
    CHECK(theme.uses_color);
    for (int role = 0; role < THEME_ROLE_COUNT; role++) {
        CHECK(theme.styles[role].background != THEME_COLOR_DEFAULT);
        CHECK(theme.styles[role].foreground != theme.styles[role].background);
    }

    /* the built-in default: readable pairs, and the selection stands out */
    for (int role = 0; role < THEME_ROLE_COUNT; role++)
        CHECK(builtin.styles[role].foreground != builtin.styles[role].background ||
              builtin.styles[role].foreground == THEME_COLOR_DEFAULT);
    CHECK(!styles_equal(&builtin.styles[THEME_SELECTION], &builtin.styles[THEME_PROCESS]));
}

static void test_valid_lines(void)
{
    static const char text[] = "# a comment\n"
                               "\n"
                               "   # indented comment\n"
                               "description = mine # with a hash\n"
                               "color = no\r\n"
                               "title = 196 bright-blue bold underline\n"
                               "process = 0 255   # trailing comment\n"
                               "  SELECTION\t=\tRed   Bright-Cyan  Reverse italic dim\n"
                               "warning = default default";
    struct theme theme, builtin;
    struct collected_warnings warnings = {0};
    bool roles_set[THEME_ROLE_COUNT];
    theme_builtin_default(&builtin);
    int count = theme_parse_marking_roles(text, strlen(text), "/x/custom.theme", &theme, roles_set,
                                          collect_warning, &warnings);
    CHECK_INT(count, 0);
    CHECK_INT(warnings.count, 0);
    CHECK_STR(theme.name, "custom");
    CHECK_STR(theme.description, "mine # with a hash");
    CHECK(!theme.uses_color);
    CHECK_INT(theme.styles[THEME_TITLE].foreground, 196);
    CHECK_INT(theme.styles[THEME_TITLE].background, 12);
    CHECK_INT(theme.styles[THEME_TITLE].attributes, THEME_ATTR_BOLD | THEME_ATTR_UNDERLINE);
    CHECK_INT(theme.styles[THEME_PROCESS].foreground, 0);
    CHECK_INT(theme.styles[THEME_PROCESS].background, 255);
    CHECK_INT(theme.styles[THEME_SELECTION].foreground, 1);
    CHECK_INT(theme.styles[THEME_SELECTION].background, 14);
    CHECK_INT(theme.styles[THEME_SELECTION].attributes,
              THEME_ATTR_REVERSE | THEME_ATTR_ITALIC | THEME_ATTR_DIM);
    CHECK_INT(theme.styles[THEME_WARNING].foreground, THEME_COLOR_DEFAULT);
    CHECK_INT(theme.styles[THEME_WARNING].attributes, 0);
    CHECK(roles_set[THEME_TITLE] && roles_set[THEME_PROCESS] && roles_set[THEME_SELECTION]);
    CHECK(roles_set[THEME_WARNING]);
    CHECK(!roles_set[THEME_FOOTER]);
    CHECK(styles_equal(&theme.styles[THEME_FOOTER], &builtin.styles[THEME_FOOTER]));

    /* every bright name maps to 8..15, every basic name to 0..7 */
    static const char *const basics[] = {"black", "red",     "green", "yellow",
                                         "blue",  "magenta", "cyan",  "white"};
    for (int i = 0; i < 8; i++) {
        char line[128];
        snprintf(line, sizeof line, "footer = %s bright-%s\n", basics[i], basics[i]);
        CHECK_INT(theme_parse(line, strlen(line), "t", &theme, print_warning, NULL), 0);
        CHECK_INT(theme.styles[THEME_FOOTER].foreground, i);
        CHECK_INT(theme.styles[THEME_FOOTER].background, i + 8);
        CHECK_STR(theme_color_name((short)i), basics[i]);
    }
    CHECK_STR(theme_color_name(THEME_COLOR_DEFAULT), "default");
    CHECK(theme_color_name(100) == NULL);

    /* an empty text is the built-in default, minus the description */
    CHECK_INT(theme_parse("", 0, NULL, &theme, print_warning, NULL), 0);
    check_same_as_builtin(&theme, "empty text");
}

/* One malformed line and what the warning must mention. */
struct malformed_case {
    const char *line;     /* the line (without newline) */
    const char *mentions; /* substring of the message */
};

static void test_malformed_lines(void)
{
    static const struct malformed_case cases[] = {
        {"selection black cyan", "missing '='"},
        {"nosuchrole = red blue", "unknown role 'nosuchrole'"},
        {"selection = red", "FOREGROUND BACKGROUND"},
        {"selection =", "FOREGROUND BACKGROUND"},
        {"selection = red notacolour", "unknown colour 'notacolour'"},
        {"selection = 256 red", "out of range"},
        {"selection = red 99999999999999999999", "out of range"},
        {"selection = -1 red", "unknown colour '-1'"},
        {"selection = 12x red", "unknown colour '12x'"},
        {"selection = bright-default red", "unknown colour"},
        {"selection = red blue bold sparkly", "unknown attribute 'sparkly'"},
        {"selection = red blue b b b b b b b b b b b b b b b b", "too many words"},
        {"= red blue", "missing role name"},
        {"color = maybe", "color = yes"},
        {"color = yes no", "color = yes"},
        {"\033[2J\033]0;x\007 = red blue", "unknown role '\\e[2J\\e]0;x\\x07'"},
        {"title = red blue", "already set on line 1"},
    };
    const size_t count = sizeof cases / sizeof cases[0];
    struct theme builtin;
    theme_builtin_default(&builtin);
    for (size_t i = 0; i < count; i++) {
        /* line 1 sets title (for the repeat case); the bad line is line 3 */
        char text[256];
        snprintf(text, sizeof text, "title = green default\n# comment\n%s\nfooter = red blue\n",
                 cases[i].line);
        struct theme theme;
        struct collected_warnings warnings = {0};
        int result =
            theme_parse(text, strlen(text), "bad.theme", &theme, collect_warning, &warnings);
        CHECK_INT(result, 1);
        CHECK_INT(warnings.count, 1);
        CHECK_STR(warnings.file[0], "bad.theme");
        CHECK_INT(warnings.line[0], 3);
        if (!strstr(warnings.message[0], cases[i].mentions)) {
            fprintf(stderr, "case '%s': message '%s' lacks '%s'\n", cases[i].line,
                    warnings.message[0], cases[i].mentions);
            CHECK(!"warning does not name the problem");
        }
        CHECK(strchr(warnings.message[0], '\033') == NULL);
        /* the bad line is ignored: selection keeps the built-in default; lines around apply */
        CHECK(styles_equal(&theme.styles[THEME_SELECTION], &builtin.styles[THEME_SELECTION]));
        CHECK_INT(theme.styles[THEME_TITLE].foreground, 2);
        CHECK_INT(theme.styles[THEME_FOOTER].foreground, 1);
        CHECK_INT(theme.uses_color, true);
    }

    /* an embedded NUL byte */
    static const char with_nul[] = "footer = red blue\nselection = red\0blue\n";
    struct collected_warnings warnings = {0};
    struct theme theme;
    CHECK_INT(
        theme_parse(with_nul, sizeof with_nul - 1, "nul.theme", &theme, collect_warning, &warnings),
        1);
    CHECK_INT(warnings.line[0], 2);
    /* a NULL callback still counts */
    CHECK_INT(theme_parse("x\ny\n", 4, "t", &theme, NULL, NULL), 2);
}

static void test_role_names(void)
{
    for (int role = 0; role < THEME_ROLE_COUNT; role++) {
        const char *name = theme_role_name((enum theme_role)role);
        CHECK_INT(theme_role_from_name(name), role);
        CHECK(theme_role_help((enum theme_role)role)[0] != '\0');
    }
    CHECK_STR(theme_role_name(THEME_SELECTION), "selection");
    CHECK_INT(theme_role_from_name("nope"), -1);
    CHECK_INT(theme_role_from_name(NULL), -1);
}

static void write_file(const char *directory, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", directory, name);
    FILE *file = fopen(path, "w");
    CHECK(file != NULL);
    if (!file)
        return;
    fputs(text, file);
    fclose(file);
}

static void remove_tree(const char *directory)
{
    DIR *dir = opendir(directory);
    if (!dir)
        return;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", directory, entry->d_name);
        if (unlink(path) != 0)
            remove_tree(path);
    }
    closedir(dir);
    rmdir(directory);
}

static void test_load_and_list(void)
{
    char directory[] = "/tmp/stacktop-test-theme-XXXXXX";
    char config[] = "/tmp/stacktop-test-config-XXXXXX";
    CHECK(mkdtemp(directory) != NULL);
    CHECK(mkdtemp(config) != NULL);
    setenv("STACKTOP_THEME_DIR", directory, 1);
    setenv("XDG_CONFIG_HOME", config, 1); /* keep the tester's own themes out */

    write_file(directory, "broken.theme",
               "description = broken on purpose\n"
               "selection = red blue\n"
               "footer = red chartreuse\n");
    write_file(directory, "light.theme", "description = shadows the shipped one\n");
    write_file(directory, "zzz.theme", "");
    write_file(directory, ".hidden.theme", "");
    write_file(directory, "notes.txt", "");
    char path[512];
    snprintf(path, sizeof path, "%s/dir.theme", directory);
    CHECK(mkdir(path, 0700) == 0);
    {
        char *big = malloc(70 * 1024 + 1);
        memset(big, '#', 70 * 1024);
        big[70 * 1024] = '\0';
        write_file(directory, "big.theme", big);
        free(big);
    }

    struct theme theme, builtin;
    struct collected_warnings warnings = {0};
    theme_builtin_default(&builtin);

    /* a broken file: one warning naming the full path and line 3; the rest applies */
    CHECK_INT(theme_load("broken", &theme, collect_warning, &warnings), 1);
    CHECK_INT(warnings.count, 1);
    snprintf(path, sizeof path, "%s/broken.theme", directory);
    CHECK_STR(warnings.file[0], path);
    CHECK_INT(warnings.line[0], 3);
    CHECK(strstr(warnings.message[0], "chartreuse") != NULL);
    CHECK_STR(theme.name, "broken");
    CHECK_STR(theme.description, "broken on purpose");
    CHECK_INT(theme.styles[THEME_SELECTION].foreground, 1);
    CHECK(styles_equal(&theme.styles[THEME_FOOTER], &builtin.styles[THEME_FOOTER]));

    /* $STACKTOP_THEME_DIR comes before the shipped directory */
    memset(&warnings, 0, sizeof warnings);
    CHECK_INT(theme_load("light", &theme, collect_warning, &warnings), 0);
    CHECK_STR(theme.description, "shadows the shipped one");

    /* shipped themes are found in the source directory */
    CHECK_INT(theme_load("mono", &theme, collect_warning, &warnings), 0);
    CHECK(!theme.uses_color);
    CHECK_STR(theme.name, "mono");
    CHECK_INT(warnings.count, 0);

    /* missing: built-in default and a warning naming the theme */
    CHECK_INT(theme_load("no-such-theme", &theme, collect_warning, &warnings), -1);
    CHECK_INT(warnings.count, 1);
    CHECK_STR(warnings.file[0], "no-such-theme");
    CHECK_STR(warnings.message[0], "theme 'no-such-theme' not found; using the built-in default");
    check_same_as_builtin(&theme, "missing theme");
    CHECK_STR(theme.name, "default");

    /* names that could leave the theme directories */
    static const char *const bad_names[] = {"../etc/passwd", "a/b",        ".hidden", "",
                                            "/etc/x",        "bad\033name"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        memset(&warnings, 0, sizeof warnings);
        CHECK_INT(theme_load(bad_names[i], &theme, collect_warning, &warnings), -1);
        CHECK_INT(warnings.count, 1);
        CHECK(strstr(warnings.message[0], "invalid theme name") != NULL);
        CHECK(strchr(warnings.message[0], '\033') == NULL);
        check_same_as_builtin(&theme, bad_names[i]);
        CHECK(!theme_name_is_valid(bad_names[i]));
    }
    memset(&warnings, 0, sizeof warnings);
    CHECK_INT(theme_load(NULL, &theme, collect_warning, &warnings), -1);
    CHECK_INT(warnings.count, 1);

    /* too large, and not a regular file: reported, built-in default */
    memset(&warnings, 0, sizeof warnings);
    CHECK_INT(theme_load("big", &theme, collect_warning, &warnings), -1);
    CHECK(warnings.count == 2 && strstr(warnings.message[0], "64 KiB") != NULL);
    check_same_as_builtin(&theme, "big theme");
    memset(&warnings, 0, sizeof warnings);
    CHECK_INT(theme_load("dir", &theme, collect_warning, &warnings), -1);
    CHECK(warnings.count == 2 && strstr(warnings.message[0], "not a regular file") != NULL);

    /* the list: sorted, unique, shipped + ours, no hidden or foreign files */
    char *names[64];
    size_t count = theme_list(names, 64);
    CHECK(count >= 7);
    static const char *const expected[] = {"big",   "broken", "default", "high-contrast",
                                           "light", "mono",   "zzz"};
    for (size_t e = 0; e < sizeof expected / sizeof expected[0]; e++) {
        bool found = false;
        for (size_t i = 0; i < count; i++)
            found = found || strcmp(names[i], expected[e]) == 0;
        if (!found)
            fprintf(stderr, "theme_list lacks %s\n", expected[e]);
        CHECK(found);
    }
    for (size_t i = 0; i < count; i++) {
        CHECK(names[i][0] != '.');
        CHECK(strstr(names[i], "notes") == NULL);
        if (i > 0)
            CHECK(strcmp(names[i - 1], names[i]) < 0);
    }
    char *few[2];
    CHECK_INT(theme_list(few, 2), 2);
    CHECK_STR(few[0], names[0]);
    CHECK_STR(few[1], names[1]);
    free(few[0]);
    free(few[1]);
    for (size_t i = 0; i < count; i++)
        free(names[i]);

    /* with nothing on disk at all, "default" is still listed and loads silently */
    unsetenv("STACKTOP_THEME_DIR");
    CHECK_INT(theme_load("default", &theme, collect_warning, &warnings), 0);

    remove_tree(directory);
    remove_tree(config);
}

int main(void)
{
    test_shipped_themes();
    test_valid_lines();
    test_malformed_lines();
    test_role_names();
    test_load_and_list();
    return CHECK_DONE();
}

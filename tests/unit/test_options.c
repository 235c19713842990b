/*
 * test_options: the command-line parser (tui/options.c) and the help generated from the key
 * table (tui/keys.c): accepted forms, usage errors (exit code 2) and their messages.
 */
#include <string.h>

#include "check.h"
#include "columns.h"
#include "keys.h"
#include "options.h"

static int parse(struct options *o, char *err, size_t errlen, int argc, char **argv)
{
    return options_parse(argc, argv, o, err, errlen);
}

int main(void)
{
    struct options o;
    char err[256];

    char *defaults[] = {"stacktop"};
    CHECK_INT(parse(&o, err, sizeof err, 1, defaults), 0);
    CHECK(!o.batch);
    CHECK(o.delay_seconds == 1.5);
    CHECK_INT(o.iterations, 1);
    CHECK_INT(o.sort_column, -1);

    char *batch[] = {"stacktop", "--batch", "-n", "3",    "-d", "0.25",
                     "--sort",   "mem",     "-p", "1,42", "-o", "/tmp/x.db"};
    CHECK_INT(parse(&o, err, sizeof err, 12, batch), 0);
    CHECK(o.batch);
    CHECK_INT(o.iterations, 3);
    CHECK(o.delay_seconds == 0.25);
    CHECK_INT(o.sort_column, COLUMN_MEM);
    CHECK_INT(o.pid_count, 2);
    CHECK_INT(o.pids[0], 1);
    CHECK_INT(o.pids[1], 42);
    CHECK_STR(o.output_path, "/tmp/x.db");

    char *ascending[] = {"stacktop", "--sort=+pid", "--theme", "mono", "--tree"};
    CHECK_INT(parse(&o, err, sizeof err, 5, ascending), 0);
    CHECK_INT(o.sort_column, COLUMN_PID);
    CHECK(o.sort_ascending);
    CHECK_STR(o.theme_name, "mono");
    CHECK(o.tree);

    char *bad_delay[] = {"stacktop", "-d", "abc"};
    CHECK_INT(parse(&o, err, sizeof err, 3, bad_delay), 2);
    CHECK(strstr(err, "-d") != NULL);

    char *zero_delay[] = {"stacktop", "-d", "0"};
    CHECK_INT(parse(&o, err, sizeof err, 3, zero_delay), 2);

    char *bad_pid[] = {"stacktop", "-p", "12,x"};
    CHECK_INT(parse(&o, err, sizeof err, 3, bad_pid), 2);
    CHECK(strstr(err, "'x'") != NULL);

    char *bad_sort[] = {"stacktop", "--sort", "nosuch"};
    CHECK_INT(parse(&o, err, sizeof err, 3, bad_sort), 2);
    CHECK(strstr(err, "nosuch") != NULL);

    char *unknown[] = {"stacktop", "--frobnicate"};
    CHECK_INT(parse(&o, err, sizeof err, 2, unknown), 2);
    CHECK(strstr(err, "--frobnicate") != NULL);

    char *missing[] = {"stacktop", "-d"};
    CHECK_INT(parse(&o, err, sizeof err, 2, missing), 2);
    CHECK(strstr(err, "needs an argument") != NULL);

    char *contradiction[] = {"stacktop", "-o", "x.db", "--no-record"};
    CHECK_INT(parse(&o, err, sizeof err, 4, contradiction), 2);

    char *command[] = {"stacktop", "stacks", "123"};
    CHECK_INT(parse(&o, err, sizeof err, 3, command), 0);
    CHECK_STR(o.subcommand, "stacks");
    CHECK_INT(o.argument_count, 1);
    CHECK_STR(o.arguments[0], "123");

    char *bad_command[] = {"stacktop", "frob"};
    CHECK_INT(parse(&o, err, sizeof err, 2, bad_command), 2);

    char usage[8192];
    options_usage(usage, sizeof usage);
    CHECK(strstr(usage, "--batch") != NULL);
    CHECK(strstr(usage, "--no-record") != NULL);
    CHECK(strstr(usage, "stacktop stacks PID") != NULL);

    /* Help is generated from the key table: every documented key must be there. */
    static char lines[200][128];
    size_t count = keys_help_lines(lines, 200);
    CHECK(count > 20 && count < 200);
    const char *expected[] = {"F1",         "F3",   "F4", "F5",   "F6",   "F10", "Space",
                              "Enter",      "H",    "K",  "PgDn", "Home", "Esc", "Process table",
                              "Everywhere", "Mouse"};
    for (size_t k = 0; k < sizeof expected / sizeof expected[0]; k++) {
        int found = 0;
        for (size_t i = 0; i < count && i < 200; i++)
            found |= strstr(lines[i], expected[k]) != NULL;
        if (!found)
            fprintf(stderr, "help lacks %s\n", expected[k]);
        CHECK(found);
    }
    return CHECK_DONE();
}

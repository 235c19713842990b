/*
 * options: the command-line table and its parser. Every option appears once, in
 * option_table; getopt_long's array and the --help text are generated from it, so the help
 * can never disagree with what is accepted.
 */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* Identifiers for options that have no short letter. */
enum {
    OPTION_NO_RECORD = 256,
    OPTION_THEME,
    OPTION_SORT,
    OPTION_TREE,
    OPTION_THREADS,
    OPTION_GROUP,
    OPTION_FORMAT,
    OPTION_CONSISTENT,
    OPTION_UNWINDER,
};

/* Bounds of profile -F, Hz. */
#define OPTIONS_MIN_FREQUENCY 1
#define OPTIONS_MAX_FREQUENCY 10000

/* Commands an option applies to (bits). */
enum {
    FOR_CONSOLE = 1 << 0, /* the live console and --batch */
    FOR_STACKS = 1 << 1,  /* stacktop stacks */
    FOR_PROFILE = 1 << 2, /* stacktop profile */
    FOR_ALL = FOR_CONSOLE | FOR_STACKS | FOR_PROFILE,
};

/* One command-line option. */
struct option_spec {
    int id;                /* short letter, or an OPTION_* value above 255 */
    const char *long_name; /* name after "--" */
    const char *argument;  /* placeholder for the argument in help; NULL if none */
    const char *help;      /* one line of help */
    unsigned commands;     /* FOR_* bits: where the option is accepted */
};

static const struct option_spec option_table[] = {
    {'b', "batch", NULL, "print the process table as text (like top -b), no console", FOR_CONSOLE},
    {'n', "iterations", "N", "with --batch: print N tables (default 1; 0 = until interrupted)",
     FOR_CONSOLE},
    {'d', "delay", "SECONDS",
     "refresh delay, decimals allowed (default 1.5); profile: how long to sample (default 5)",
     FOR_CONSOLE | FOR_PROFILE},
    {'F', "frequency", "HZ", "profile: samples per second, 1 to 10000 (default 99)", FOR_PROFILE},
    {'p', "pid", "PID[,PID...]", "show only these processes", FOR_CONSOLE},
    {OPTION_SORT, "sort", "COLUMN",
     "sort by COLUMN (pid user pri ni virt rss s cpu mem time thr command); prefix + for "
     "ascending",
     FOR_CONSOLE},
    {OPTION_TREE, "tree", NULL, "start in tree view", FOR_CONSOLE},
    {OPTION_THREADS, "threads", NULL, "start with thread rows shown", FOR_CONSOLE},
    {OPTION_GROUP, "group", "stack|top|user|start",
     "stacks: group threads by whole stack (default), top frame, top user frame, start frame",
     FOR_STACKS},
    {OPTION_FORMAT, "format", "FORMAT",
     "output format: stacks text|json, profile text|folded|json (default text)",
     FOR_STACKS | FOR_PROFILE},
    {OPTION_CONSISTENT, "consistent", NULL,
     "stacks: stop all threads together (one consistent instant; longer stops)", FOR_STACKS},
    {OPTION_UNWINDER, "unwinder", "libunwind|libdw", "stacks: unwinder (default: the faster)",
     FOR_STACKS},
    {'o', "output", "FILE", "record the session (and snapshots) into FILE", FOR_ALL},
    {OPTION_NO_RECORD, "no-record", NULL, "do not write a session file", FOR_ALL},
    {OPTION_THEME, "theme", "NAME", "colour theme: default, light, mono, high-contrast, ...",
     FOR_CONSOLE},
    {'h', "help", NULL, "show this help", FOR_ALL},
    {'V', "version", NULL, "show the version", FOR_ALL},
};

#define OPTION_COUNT (sizeof option_table / sizeof option_table[0])

/* Subcommands: name and the help line. The console is the default. */
static const struct {
    const char *name;  /* word after stacktop */
    const char *usage; /* its synopsis */
} subcommand_table[] = {
    {"stacks", "stacks PID [--group stack|top|user|start] [--format text|json] [--consistent] "
               "[--unwinder libunwind|libdw] [-o DB | --no-record]"},
    {"profile",
     "profile PID [-d SECONDS] [-F HZ] [--format text|folded|json] [-o DB | --no-record]"},
    {"open", "open FILE.db"},
    {"diff", "diff FILE.db A B"},
    {"report", "report FILE.db [--format md|html|json|folded|pprof] [-o OUT]"},
};

static int parse_double(const char *text, double *out)
{
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (errno || end == text || *end != '\0')
        return -1;
    *out = value;
    return 0;
}

static int parse_long(const char *text, long *out)
{
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0')
        return -1;
    *out = value;
    return 0;
}

static int parse_pid_list(const char *text, struct options *out, char *err, size_t errlen)
{
    char *copy = xstrdup(text);
    char *save = NULL;
    int rc = 0;
    for (char *token = strtok_r(copy, ",", &save); token; token = strtok_r(NULL, ",", &save)) {
        long pid = 0;
        if (parse_long(token, &pid) < 0 || pid <= 0 || pid > 0x3fffffff) {
            snprintf(err, errlen, "-p: '%s' is not a process id", token);
            rc = 2;
            break;
        }
        if (out->pid_count == OPTIONS_MAX_PIDS) {
            snprintf(err, errlen, "-p: at most %d processes", OPTIONS_MAX_PIDS);
            rc = 2;
            break;
        }
        out->pids[out->pid_count++] = (pid_t)pid;
    }
    if (rc == 0 && out->pid_count == 0) {
        snprintf(err, errlen, "-p: no process id given");
        rc = 2;
    }
    free(copy);
    return rc;
}

static int apply_option(int id, const char *arg, struct options *out, char *err, size_t errlen)
{
    switch (id) {
    case 'b':
        out->batch = true;
        return 0;
    case 'n':
        if (parse_long(arg, &out->iterations) < 0 || out->iterations < 0) {
            snprintf(err, errlen, "-n: '%s' is not a count (a whole number >= 0)", arg);
            return 2;
        }
        return 0;
    case 'd':
        if (parse_double(arg, &out->delay_seconds) < 0 || !(out->delay_seconds >= 0.05) ||
            out->delay_seconds > 3600) {
            snprintf(err, errlen, "-d: '%s' is not a delay in seconds (0.05 to 3600)", arg);
            return 2;
        }
        return 0;
    case 'F': {
        long hz = 0;
        if (parse_long(arg, &hz) < 0 || hz < OPTIONS_MIN_FREQUENCY || hz > OPTIONS_MAX_FREQUENCY) {
            snprintf(err, errlen, "-F: '%s' is not a frequency in Hz (%d to %d)", arg,
                     OPTIONS_MIN_FREQUENCY, OPTIONS_MAX_FREQUENCY);
            return 2;
        }
        out->frequency_hz = (unsigned)hz;
        return 0;
    }
    case 'p':
        return parse_pid_list(arg, out, err, errlen);
    case OPTION_SORT: {
        const char *name = arg;
        if (*name == '+' || *name == '-') {
            out->sort_ascending = (*name == '+');
            name++;
        }
        out->sort_column = columns_from_name(name);
        if (out->sort_column < 0) {
            snprintf(err, errlen, "--sort: unknown column '%s'", arg);
            return 2;
        }
        return 0;
    }
    case OPTION_TREE:
        out->tree = true;
        return 0;
    case OPTION_THREADS:
        out->show_threads = true;
        return 0;
    case 'o':
        out->output_path = arg;
        return 0;
    case OPTION_NO_RECORD:
        out->no_record = true;
        return 0;
    case OPTION_THEME:
        out->theme_name = arg;
        return 0;
    case OPTION_GROUP:
        out->group = arg;
        return 0;
    case OPTION_FORMAT:
        out->format = arg;
        return 0;
    case OPTION_CONSISTENT:
        out->consistent = true;
        return 0;
    case OPTION_UNWINDER:
        out->unwinder = arg;
        return 0;
    case 'h':
        out->show_help = true;
        return 0;
    case 'V':
        out->show_version = true;
        return 0;
    default:
        snprintf(err, errlen, "unknown option (try --help)");
        return 2;
    }
}

int options_parse(int argc, char **argv, struct options *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->delay_seconds = 1.5;
    out->iterations = 1;
    out->sort_column = -1;

    struct option long_options[OPTION_COUNT + 1];
    char short_options[3 * OPTION_COUNT + 2];
    size_t short_length = 0;
    short_options[short_length++] = ':'; /* report a missing argument as ':' */
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const struct option_spec *spec = &option_table[i];
        long_options[i] = (struct option){
            spec->long_name, spec->argument ? required_argument : no_argument, NULL, spec->id};
        if (spec->id < 256) {
            short_options[short_length++] = (char)spec->id;
            if (spec->argument)
                short_options[short_length++] = ':';
        }
    }
    short_options[short_length] = '\0';
    long_options[OPTION_COUNT] = (struct option){NULL, 0, NULL, 0};

    /* Options may appear before and after the subcommand; operands are collected in order. */
    optind = 0; /* glibc: full re-initialisation, so tests can parse repeatedly */
    opterr = 0;
    int rc = 0;
    bool seen[OPTION_COUNT] = {false};
    for (;;) {
        int id = getopt_long(argc, argv, short_options, long_options, NULL);
        if (id == -1)
            break;
        for (size_t i = 0; i < OPTION_COUNT; i++)
            if (option_table[i].id == id)
                seen[i] = true;
        if (id == '?') {
            if (optopt)
                snprintf(err, errlen, "unknown option '-%c' (try --help)", optopt);
            else
                snprintf(err, errlen, "unknown option '%s' (try --help)", argv[optind - 1]);
            return 2;
        }
        if (id == ':') {
            snprintf(err, errlen, "option '%s' needs an argument", argv[optind - 1]);
            return 2;
        }
        rc = apply_option(id, optarg, out, err, errlen);
        if (rc)
            return rc;
    }
    /* GNU getopt permutes operands to the end. */
    if (optind < argc) {
        const char *word = argv[optind];
        bool known = false;
        for (size_t i = 0; i < sizeof subcommand_table / sizeof subcommand_table[0]; i++)
            known |= strcmp(word, subcommand_table[i].name) == 0;
        if (!known) {
            snprintf(err, errlen, "unknown command '%s' (try --help)", word);
            return 2;
        }
        out->subcommand = word;
        out->arguments = argv + optind + 1;
        out->argument_count = argc - optind - 1;
    }
    unsigned command = !out->subcommand                          ? FOR_CONSOLE
                       : strcmp(out->subcommand, "stacks") == 0  ? FOR_STACKS
                       : strcmp(out->subcommand, "profile") == 0 ? FOR_PROFILE
                                                                 : 0;
    for (size_t i = 0; i < OPTION_COUNT && command; i++) {
        if (seen[i] && !(option_table[i].commands & command)) {
            snprintf(err, errlen, "option --%s does not apply to %s", option_table[i].long_name,
                     out->subcommand ? out->subcommand : "the console");
            return 2;
        }
    }
    /* profile: -d is the sampling duration (the console's refresh delay keeps its default). */
    for (size_t i = 0; i < OPTION_COUNT && command == FOR_PROFILE; i++) {
        if (seen[i] && option_table[i].id == 'd') {
            out->duration_seconds = out->delay_seconds;
            out->delay_seconds = 1.5;
        }
    }
    if (out->batch && out->subcommand) {
        snprintf(err, errlen, "--batch cannot be combined with '%s'", out->subcommand);
        return 2;
    }
    if (out->no_record && out->output_path) {
        snprintf(err, errlen, "-o and --no-record contradict each other");
        return 2;
    }
    return 0;
}

void options_usage(char *buf, size_t buflen)
{
    size_t used = 0;
#define APPEND(...)                                                                                \
    do {                                                                                           \
        if (used < buflen) {                                                                       \
            int n_ = snprintf(buf + used, buflen - used, __VA_ARGS__);                             \
            used += n_ > 0 ? (size_t)n_ : 0;                                                       \
        }                                                                                          \
    } while (0)
    APPEND("usage: stacktop [OPTIONS]               live console (records the session)\n"
           "       stacktop --batch [-n N] [-d S]   text tables, like top -b\n");
    for (size_t i = 0; i < sizeof subcommand_table / sizeof subcommand_table[0]; i++)
        APPEND("       stacktop %s\n", subcommand_table[i].usage);
    APPEND("\noptions:\n");
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const struct option_spec *spec = &option_table[i];
        char left[64];
        if (spec->id < 256)
            snprintf(left, sizeof left, "-%c, --%s%s%s", spec->id, spec->long_name,
                     spec->argument ? " " : "", spec->argument ? spec->argument : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", spec->long_name, spec->argument ? " " : "",
                     spec->argument ? spec->argument : "");
        APPEND("  %-33s %s\n", left, spec->help);
    }
    APPEND("\nSessions are saved under $XDG_STATE_HOME/stacktop/ (default ~/.local/state/"
           "stacktop/).\nExit status: 0 ok, 1 runtime failure, 2 usage error.\n");
#undef APPEND
}

int options_pid_operand(const struct options *options, pid_t *pid, char *err, size_t errlen)
{
    const char *name = options->subcommand ? options->subcommand : "";
    if (options->argument_count != 1) {
        const char *usage = name;
        for (size_t i = 0; i < sizeof subcommand_table / sizeof subcommand_table[0]; i++)
            if (strcmp(subcommand_table[i].name, name) == 0)
                usage = subcommand_table[i].usage;
        snprintf(err, errlen, "usage: stacktop %s", usage);
        return -1;
    }
    long value = 0;
    if (parse_long(options->arguments[0], &value) < 0 || value <= 0 || value > 0x3fffffff) {
        snprintf(err, errlen, "%s: '%s' is not a process id", name, options->arguments[0]);
        return -1;
    }
    *pid = (pid_t)value;
    return 0;
}

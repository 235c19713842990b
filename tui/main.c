/*
 * main: parses the command line and hands over to the console, --batch, or a subcommand.
 * Exit codes: 0 ok, 1 runtime failure (with a message), 2 usage error.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "batch.h"
#include "options.h"
#include "profile_run.h"
#include "stacks_snapshot.h"

#define STACKTOP_VERSION "0.1.0"

int main(int argc, char **argv)
{
    struct options options;
    char err[512];
    if (options_parse(argc, argv, &options, err, sizeof err) != 0) {
        fprintf(stderr, "stacktop: %s\n", err);
        return 2;
    }
    if (options.show_help) {
        char usage[8192];
        options_usage(usage, sizeof usage);
        fputs(usage, stdout);
        return 0;
    }
    if (options.show_version) {
        printf("stacktop %s\n", STACKTOP_VERSION);
        return 0;
    }
    if (options.subcommand && strcmp(options.subcommand, "stacks") == 0)
        return stacks_command_run(&options, argc, argv);
    if (options.subcommand && strcmp(options.subcommand, "profile") == 0)
        return profile_command_run(&options, argc, argv);
    if (options.subcommand) {
        fprintf(stderr, "stacktop: '%s' is not implemented in this version yet\n",
                options.subcommand);
        return 1;
    }
    if (options.batch)
        return batch_run(&options, argc, argv);
    return app_run(&options, argc, argv);
}

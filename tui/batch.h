/*
 * batch: headless mode (stacktop --batch), like top -b: the header summary and the process
 * table as plain text, N times, every delay seconds. Each run is recorded like a console
 * session. No curses.
 */
#ifndef STACKTOP_BATCH_H
#define STACKTOP_BATCH_H

#include <stdio.h>

#include "options.h"

/* Runs batch mode; returns the process exit status (0, or 1 with a message on stderr). */
int batch_run(const struct options *options, int argc, char **argv);

#endif

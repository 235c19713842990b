/*
 * header: the meters at the top of the console — per-CPU bars (folded into one bar when the
 * terminal is narrow or short), memory and swap bars, tasks, load average and uptime.
 */
#ifndef STACKTOP_HEADER_H
#define STACKTOP_HEADER_H

#include "proctable.h"

/* Draws the header from row 0 in the given width using at most max_rows rows; returns the
 * rows used. */
int header_draw(const struct system_metrics *system, int width, int max_rows);

#endif

/*
 * draw: the small drawing vocabulary every view uses — clipped text, filled bars, meters and
 * sparklines — so that no view handles UTF-8 widths or clipping on its own.
 * Text given to draw_text must already be sanitized (see core/sanitize.h).
 */
#ifndef STACKTOP_DRAW_H
#define STACKTOP_DRAW_H

#include <stdbool.h>
#include <stddef.h>

#include "theme.h"

/* One coloured part of a meter. */
struct draw_meter_part {
    double fraction;      /* share of the full bar, 0..1 */
    enum theme_role role; /* its colour */
};

/* Writes text at (y, x) in at most width cells with the role's attribute; returns the cells
 * used. Wide characters that do not fit are replaced by spaces. */
int draw_text(int y, int x, int width, const char *text, enum theme_role role);

/* Like draw_text with a printf format (the result must not contain target strings). */
int draw_printf(int y, int x, int width, enum theme_role role, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Fills width cells at (y, x) with spaces in the role's attribute. */
void draw_fill(int y, int x, int width, enum theme_role role);

/* A meter "Label[|||||     text]" in width cells; parts are drawn left to right. */
void draw_meter(int y, int x, int width, const char *label, const struct draw_meter_part *parts,
                size_t part_count, const char *text);

/* A sparkline of values (oldest first) scaled to the larger of max and the largest value,
 * right-aligned in width cells; UTF-8 block elements or an ASCII ramp. */
void draw_sparkline(int y, int x, int width, const double *values, size_t count, double max,
                    enum theme_role role);

/* Set once by the app: whether to use UTF-8 glyphs. */
void draw_set_utf8(bool utf8);
bool draw_utf8(void);

#endif

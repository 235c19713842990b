/*
 * draw: clipped text and bars on stdscr. Width accounting uses the C library's wcwidth in the
 * user's locale (set by term_start); in a non-UTF-8 locale text is treated as single-byte and
 * glyphs fall back to ASCII.
 */
#include "draw.h"

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

static bool draw_use_utf8; /* UTF-8 glyphs and multibyte text */

void draw_set_utf8(bool utf8)
{
    draw_use_utf8 = utf8;
}

bool draw_utf8(void)
{
    return draw_use_utf8;
}

int draw_text(int y, int x, int width, const char *text, enum theme_role role)
{
    if (width <= 0 || y < 0 || x < 0 || y >= LINES || x >= COLS)
        return 0;
    if (x + width > COLS)
        width = COLS - x;
    attrset((attr_t)theme_attr(role));
    move(y, x);
    int used = 0;
    if (!draw_use_utf8) {
        size_t n = strlen(text);
        if (n > (size_t)width)
            n = (size_t)width;
        addnstr(text, (int)n);
        return (int)n;
    }
    mbstate_t state;
    memset(&state, 0, sizeof state);
    const char *p = text;
    size_t remaining = strlen(text);
    while (remaining > 0 && used < width) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, p, remaining, &state);
        if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
            /* Sanitized text is valid UTF-8; be safe anyway. */
            addch('?');
            used++;
            memset(&state, 0, sizeof state);
            p++;
            remaining--;
            continue;
        }
        int cells = wcwidth(wc);
        if (cells < 0)
            cells = 1;
        if (used + cells > width) {
            for (; used < width; used++)
                addch(' ');
            break;
        }
        addnstr(p, (int)n);
        used += cells;
        p += n;
        remaining -= n;
    }
    return used;
}

int draw_printf(int y, int x, int width, enum theme_role role, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return draw_text(y, x, width, buf, role);
}

void draw_fill(int y, int x, int width, enum theme_role role)
{
    if (width <= 0 || y < 0 || y >= LINES || x >= COLS)
        return;
    if (x + width > COLS)
        width = COLS - x;
    attrset((attr_t)theme_attr(role));
    mvhline(y, x, ' ', width);
}

void draw_meter(int y, int x, int width, const char *label, const struct draw_meter_part *parts,
                size_t part_count, const char *text)
{
    int label_width = draw_text(y, x, width, label, THEME_HEADER_LABEL);
    int inner = width - label_width - 2;
    if (inner < 1)
        return;
    int bar_x = x + label_width;
    draw_text(y, bar_x, 1, "[", THEME_METER_BRACKET);
    /* Text is right aligned inside the bar and drawn over the bar's cells. */
    int text_width = (int)strlen(text);
    if (text_width > inner)
        text_width = 0;
    int text_x = bar_x + 1 + inner - text_width;
    int cell = 0;
    double cumulative = 0;
    for (size_t i = 0; i < part_count; i++) {
        cumulative += parts[i].fraction < 0 ? 0 : parts[i].fraction;
        int end = (int)(cumulative * inner + 0.5);
        if (end > inner)
            end = inner;
        attrset((attr_t)theme_attr(parts[i].role));
        for (; cell < end; cell++) {
            int cx = bar_x + 1 + cell;
            bool in_text = cx >= text_x && text_width > 0;
            mvaddch(y, cx, in_text ? (chtype)(unsigned char)text[cx - text_x] : '|');
        }
    }
    attrset((attr_t)theme_attr(THEME_METER_TEXT));
    for (; cell < inner; cell++) {
        int cx = bar_x + 1 + cell;
        bool in_text = cx >= text_x && text_width > 0;
        mvaddch(y, cx, in_text ? (chtype)(unsigned char)text[cx - text_x] : ' ');
    }
    draw_text(y, bar_x + 1 + inner, 1, "]", THEME_METER_BRACKET);
}

void draw_sparkline(int y, int x, int width, const double *values, size_t count, double max,
                    enum theme_role role)
{
    static const char *const blocks[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    static const char ascii[] = " _.-=+*#@";
    if (width <= 0)
        return;
    draw_fill(y, x, width, role);
    size_t shown = count < (size_t)width ? count : (size_t)width;
    const double *start = values + (count - shown);
    /* A fixed ceiling still grows to fit the largest value shown. */
    for (size_t i = 0; i < shown; i++)
        if (start[i] > max)
            max = start[i];
    attrset((attr_t)theme_attr(role));
    int first = x + width - (int)shown;
    for (size_t i = 0; i < shown; i++) {
        int level = 0;
        if (max > 0 && start[i] > 0) {
            level = (int)(start[i] / max * 8.0 + 0.5);
            if (level < 1)
                level = 1; /* anything non-zero is visible */
            if (level > 8)
                level = 8;
        }
        if (draw_use_utf8)
            mvaddstr(y, first + (int)i, blocks[level]);
        else
            mvaddch(y, first + (int)i, (chtype)ascii[level]);
    }
}

/*
 * theme_curses: the curses half of theming. Turns the active struct theme into one cached
 * curses attribute (colour pair | A_* bits) per role; views only call theme_attr().
 *
 * Invariants:
 *   - The only file of the theme module that includes curses; theme_activate() must run after
 *     initscr().
 *   - Colour is used only when asked for (allow_color), wanted by the theme (uses_color),
 *     allowed by the user (NO_COLOR unset or empty, see no-color.org), available (has_colors())
 *     and started (start_color() == OK). Otherwise roles get attributes only, and roles that the
 *     theme told apart by colour alone get a fallback attribute so they stay distinguishable.
 *   - Identical (foreground, background) pairs share one colour pair; pair 0 is the terminal's
 *     default pair. Colours the terminal lacks are folded into the ones it has: 16..255 into the
 *     16 ANSI colours, then bright 8..15 into 0..7 plus A_BOLD on the foreground.
 */
#define NCURSES_WIDECHAR 1

#include "theme.h"

#include <curses.h>
#include <stdlib.h>

#ifndef A_ITALIC
#define A_ITALIC A_NORMAL
#endif

#define THEME_CURSES_COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* A theme attribute bit and its curses counterpart. */
struct theme_curses_attribute {
    unsigned bit;  /* THEME_ATTR_* */
    attr_t curses; /* A_* */
};

static const struct theme_curses_attribute curses_attributes[] = {
    {THEME_ATTR_BOLD, A_BOLD},       {THEME_ATTR_DIM, A_DIM},
    {THEME_ATTR_REVERSE, A_REVERSE}, {THEME_ATTR_UNDERLINE, A_UNDERLINE},
    {THEME_ATTR_ITALIC, A_ITALIC},
};

/* Attributes-only mode: what a role gets when the theme gave it no attributes of its own.
 * Roles absent here are plain text. */
static const attr_t fallback_attributes[THEME_ROLE_COUNT] = {
    [THEME_HEADER_VALUE] = A_BOLD,
    [THEME_METER_BRACKET] = A_BOLD,
    [THEME_METER_CPU_NICE] = A_DIM,
    [THEME_METER_CPU_SYSTEM] = A_BOLD,
    [THEME_METER_CPU_IOWAIT] = A_DIM,
    [THEME_METER_MEM_BUFFERS] = A_DIM,
    [THEME_METER_MEM_CACHE] = A_UNDERLINE,
    [THEME_METER_SWAP] = A_BOLD,
    [THEME_TABLE_HEADER] = A_REVERSE,
    [THEME_SORT_COLUMN] = A_BOLD | A_UNDERLINE,
    [THEME_SELECTION] = A_REVERSE,
    [THEME_PROCESS_KERNEL] = A_DIM,
    [THEME_PROCESS_BASENAME] = A_BOLD,
    [THEME_PROCESS_LARGE] = A_BOLD,
    [THEME_STATE_RUNNING] = A_BOLD,
    [THEME_STATE_DISK_SLEEP] = A_BOLD | A_UNDERLINE,
    [THEME_STATE_ZOMBIE] = A_BOLD,
    [THEME_STATE_STOPPED] = A_UNDERLINE,
    [THEME_SEARCH_MATCH] = A_BOLD | A_UNDERLINE,
    [THEME_FOOTER] = A_REVERSE,
    [THEME_FOOTER_KEY] = A_BOLD,
    [THEME_WARNING] = A_BOLD,
    [THEME_FROZEN] = A_REVERSE | A_BOLD,
    [THEME_TITLE] = A_BOLD,
    [THEME_HELP_KEY] = A_BOLD,
};

/* A colour pair allocated for the active theme. */
struct theme_curses_pair {
    short foreground; /* curses colour number (after folding) */
    short background; /* curses colour number (after folding) */
};

/* The active theme, as curses sees it. */
struct theme_curses_state {
    bool color_started;                         /* start_color() has succeeded */
    bool default_colors;                        /* use_default_colors() succeeded: -1 is valid */
    unsigned long attributes[THEME_ROLE_COUNT]; /* per role: COLOR_PAIR(n) | A_* */
    struct theme_curses_pair pairs[THEME_ROLE_COUNT]; /* pairs 1..pair_count in use */
    short pair_count;                                 /* colour pairs allocated so far */
};

static struct theme_curses_state state;

static bool theme_curses_no_color_requested(void)
{
    const char *no_color = getenv("NO_COLOR");
    return no_color && no_color[0] != '\0';
}

static attr_t theme_curses_attributes(unsigned bits)
{
    attr_t result = A_NORMAL;
    for (size_t i = 0; i < THEME_CURSES_COUNT(curses_attributes); i++) {
        if (bits & curses_attributes[i].bit)
            result |= curses_attributes[i].curses;
    }
    return result;
}

/* Folds a colour 16..255 of the xterm palette into the 16 ANSI colours. */
static short theme_curses_to_sixteen(short color)
{
    if (color >= 232) { /* grey ramp, dark to light */
        static const short greys[] = {0, 8, 7, 15};
        return greys[(color - 232) / 6];
    }
    int index = color - 16; /* 6x6x6 cube; each level 0..5 */
    int red = index / 36, green = (index / 6) % 6, blue = index % 6;
    int brightest = red > green ? red : green;
    brightest = brightest > blue ? brightest : blue;
    short basic = (short)((red >= 2 ? 1 : 0) | (green >= 2 ? 2 : 0) | (blue >= 2 ? 4 : 0));
    if (basic == 0)
        return brightest >= 1 ? 8 : 0;
    return (short)(brightest >= 4 ? basic + 8 : basic);
}

/* Maps a theme colour to one the terminal has; sets *brighten when bright became bold. */
static short theme_curses_fold(short color, bool *brighten)
{
    if (color == THEME_COLOR_DEFAULT)
        return color;
    if (color >= COLORS && color >= 16)
        color = theme_curses_to_sixteen(color);
    if (color >= COLORS && color >= 8) {
        color = (short)(color - 8);
        *brighten = true;
    }
    return color;
}

/* The pair for (foreground, background), allocated on first use; 0 when none is left. */
static short theme_curses_pair(short foreground, short background)
{
    if (state.default_colors && foreground == -1 && background == -1)
        return 0;
    if (!state.default_colors) {
        foreground = foreground == -1 ? COLOR_WHITE : foreground;
        background = background == -1 ? COLOR_BLACK : background;
    }
    for (short i = 0; i < state.pair_count; i++) {
        if (state.pairs[i].foreground == foreground && state.pairs[i].background == background)
            return (short)(i + 1);
    }
    short number = (short)(state.pair_count + 1);
    if (state.pair_count >= (short)THEME_ROLE_COUNT || number >= COLOR_PAIRS ||
        init_pair(number, foreground, background) == ERR)
        return 0;
    state.pairs[state.pair_count++] = (struct theme_curses_pair){foreground, background};
    return number;
}

static bool theme_curses_start_color(void)
{
    if (state.color_started)
        return true;
    if (start_color() != OK)
        return false;
    state.color_started = true;
    state.default_colors = use_default_colors() == OK;
    return true;
}

void theme_activate(const struct theme *theme, bool allow_color)
{
    bool color = allow_color && theme->uses_color && !theme_curses_no_color_requested() &&
                 has_colors() && theme_curses_start_color();
    state.pair_count = 0;
    for (int role = 0; role < THEME_ROLE_COUNT; role++) {
        const struct theme_style *style = &theme->styles[role];
        attr_t attributes = theme_curses_attributes(style->attributes);
        if (!color) {
            /* Without colour, a role that stood out by colour alone (no attributes of its
             * own, or a background unlike ordinary text's) gets its fallback as well. */
            bool own_background = style->background != theme->styles[THEME_DEFAULT].background;
            if (!attributes || own_background)
                attributes |= fallback_attributes[role];
            state.attributes[role] = attributes;
            continue;
        }
        bool brighten = false, background_brightened = false;
        short foreground = theme_curses_fold(style->foreground, &brighten);
        short background = theme_curses_fold(style->background, &background_brightened);
        if (brighten)
            attributes |= A_BOLD;
        short pair = theme_curses_pair(foreground, background);
        if (pair == 0 && (foreground != -1 || background != -1) && !attributes)
            attributes = fallback_attributes[role]; /* out of pairs: keep the role visible */
        state.attributes[role] = COLOR_PAIR(pair) | attributes;
    }
}

unsigned long theme_attr(enum theme_role role)
{
    if ((unsigned)role >= THEME_ROLE_COUNT)
        return A_NORMAL;
    return state.attributes[role];
}

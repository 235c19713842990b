/*
 * view_flame: the Flame view — a live CPU profile of one process, updated while sampling like
 * perf top. Three layouts (l cycles them):
 *   - an icicle flame graph: row 0 at the top is the zoom root ("all" or the zoomed frame),
 *     each row one stack depth, widths proportional to samples; cells coloured by module or by
 *     heat (c), the selected frame and search matches in their own roles;
 *   - a top-down call tree with total% and self%, expandable (nodes above 5% of the samples
 *     start expanded; the user's choices are kept per node);
 *   - a bottom-up list of the hottest functions by self samples.
 * The run itself is started, polled and stored by app.c (app_open_flame, app_close_flame).
 *
 * Invariants: node pointers kept here (zoom, selected, folds) point into the run's tree,
 * which only grows while sampling; view_flame_reset() forgets them when the run changes.
 * Every target string (function, module) is sanitized before it is drawn.
 */
#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "sanitize.h"
#include "views.h"
#include "xalloc.h"

#define FLAME_AUTO_EXPAND_SHARE 0.05 /* call-tree nodes above this share start expanded */
#define FLAME_MIN_LABEL         3    /* narrower cells are drawn as bare blocks */

/* Names of the layouts, for the title. */
static const char *const flame_mode_names[FLAME_MODE_COUNT] = {
    [FLAME_MODE_GRAPH] = "flame graph",
    [FLAME_MODE_TREE] = "call tree",
    [FLAME_MODE_HOT] = "hot functions",
};

/* Roles cells are coloured with when colouring by module (a hash of the module's name). */
static const enum theme_role module_roles[] = {
    THEME_METER_CPU_USER,    THEME_METER_CPU_NICE,  THEME_METER_CPU_SYSTEM, THEME_METER_CPU_IOWAIT,
    THEME_METER_MEM_BUFFERS, THEME_METER_MEM_CACHE, THEME_PROCESS_LARGE,    THEME_PROCESS_BASENAME,
};

/* Heat colouring: the first step whose minimum share the node reaches. */
static const struct {
    double min_share;     /* share of all samples in the node's subtree */
    enum theme_role role; /* its colour */
} heat_steps[] = {
    {0.50, THEME_METER_CPU_SYSTEM},
    {0.20, THEME_METER_MEM_CACHE},
    {0.05, THEME_METER_CPU_USER},
    {0.00, THEME_METER_CPU_NICE},
};

static const struct flame_tree *view_tree(const struct app *app)
{
    return app->flame.run ? profile_run_tree(app->flame.run) : NULL;
}

static const struct flame_node *zoom_node(const struct app *app)
{
    const struct flame_tree *tree = view_tree(app);
    if (!tree)
        return NULL;
    return app->flame.zoom ? app->flame.zoom : flame_tree_root(tree);
}

static bool node_is_within(const struct flame_node *node, const struct flame_node *ancestor)
{
    for (; node; node = node->parent)
        if (node == ancestor)
            return true;
    return false;
}

static bool node_matches(const struct app *app, const struct flame_node *node)
{
    return app->flame.search[0] && node->name && strstr(node->name, app->flame.search);
}

static double share_of(uint64_t part, uint64_t whole)
{
    return whole ? (double)part / (double)whole : 0.0;
}

static enum theme_role module_role(const char *module)
{
    if (!module)
        return THEME_METER_CPU_USER;
    const char *base = strrchr(module, '/');
    base = base ? base + 1 : module;
    uint32_t hash = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)base; *p; p++)
        hash = (hash ^ *p) * 16777619u;
    return module_roles[hash % (sizeof module_roles / sizeof module_roles[0])];
}

static enum theme_role cell_role(const struct app *app, const struct flame_node *node,
                                 uint64_t root_total)
{
    if (!app->flame.color_by_heat)
        return module_role(node->module);
    double share = share_of(node->total, root_total);
    size_t i = 0;
    while (i + 1 < sizeof heat_steps / sizeof heat_steps[0] && share < heat_steps[i].min_share)
        i++;
    return heat_steps[i].role;
}

/* Draws a sanitized label in width cells, ending in ".." when it does not fit. */
static void draw_label(struct app *app, int y, int x, int width, const char *raw,
                       enum theme_role role)
{
    if (width <= 0)
        return;
    char *safe = sanitize_dup(raw ? raw : "?", app->utf8);
    int need = (int)sanitize_display_width(safe, app->utf8);
    if (need > width && width >= 4) {
        int used = draw_text(y, x, width - 2, safe, role);
        draw_text(y, x + used, width - used, "..", role);
    } else {
        draw_text(y, x, width, safe, role);
    }
    free(safe);
}

/* "N samples in S s (R/s), lost L, throttled T" or why there is nothing yet. */
static void stats_text(const struct app *app, char *buf, size_t len)
{
    const struct app_flame *f = &app->flame;
    buf[0] = '\0';
    if (!f->run)
        return;
    struct perf_stats stats;
    profile_run_stats(f->run, &stats);
    const char *state = f->stopped                     ? ", stopped (p: sample again)"
                        : stats.process_exited         ? ", process exited"
                        : profile_run_finished(f->run) ? ", finished"
                                                       : "";
    if (stats.samples == 0) {
        snprintf(buf, len, "no samples yet (is the process running?)%s", state);
        return;
    }
    double rate = stats.elapsed_seconds > 0 ? (double)stats.samples / stats.elapsed_seconds : 0;
    snprintf(buf, len, "%llu samples in %.1f s (%.0f/s), lost %llu, throttled %llu%s",
             (unsigned long long)stats.samples, stats.elapsed_seconds, rate,
             (unsigned long long)stats.lost, (unsigned long long)stats.throttled, state);
}

/* Title and information lines. Returns rows used. */
static int draw_title(struct app *app, int top, int rows, int cols)
{
    struct app_flame *f = &app->flame;
    char *comm = sanitize_dup(f->comm, app->utf8);
    draw_fill(top, 0, cols, THEME_TITLE);
    draw_printf(top, 0, cols, THEME_TITLE, "Flame of %d (%s): %s, coloured by %s, 99 Hz",
                (int)f->pid, comm, flame_mode_names[f->mode], f->color_by_heat ? "heat" : "module");
    free(comm);
    if (rows < 2)
        return 1;
    const struct flame_tree *tree = view_tree(app);
    char stats[256];
    stats_text(app, stats, sizeof stats);
    int x = draw_text(top + 1, 0, cols, stats, THEME_STATUS);
    if (tree && f->search[0]) {
        uint64_t total = flame_tree_root(tree)->total;
        char *needle = sanitize_dup(f->search, app->utf8);
        x += draw_text(top + 1, x, cols - x, "  search ", THEME_STATUS);
        x += draw_text(top + 1, x, cols - x, needle, THEME_SEARCH_MATCH);
        x += draw_printf(top + 1, x, cols - x, THEME_STATUS, " %.1f%% of samples",
                         100.0 * share_of(flame_match_total(tree, f->search), total));
        free(needle);
    }
    const struct flame_node *selected = f->selected;
    if (tree && selected && f->mode != FLAME_MODE_HOT) {
        uint64_t total = flame_tree_root(tree)->total;
        x += draw_text(top + 1, x, cols - x, "  selected ", THEME_STATUS);
        char label[256];
        sanitize_string(selected->name ? selected->name : "?",
                        selected->name ? strlen(selected->name) : 1, label, sizeof label,
                        app->utf8);
        x += draw_text(top + 1, x, cols - x, label, THEME_DEFAULT);
        draw_printf(top + 1, x, cols - x, THEME_STATUS, " total %.1f%% self %.1f%%",
                    100.0 * share_of(selected->total, total),
                    100.0 * share_of(selected->self, total));
    }
    return 2;
}

static long cell_index_of(const struct app *app, const struct flame_node *node)
{
    for (size_t i = 0; i < app->flame.cell_count; i++)
        if (app->flame.cells[i].node == node)
            return (long)i;
    return -1;
}

static void draw_graph(struct app *app, int top, int rows, int cols)
{
    struct app_flame *f = &app->flame;
    const struct flame_tree *tree = view_tree(app);
    uint64_t root_total = flame_tree_root(tree)->total;
    f->cell_count = flame_layout(tree, f->zoom, cols, rows, &f->cells, &f->cell_capacity);
    if (f->cell_count > 0 && (!f->selected || cell_index_of(app, f->selected) < 0))
        f->selected = f->cells[0].node;
    for (size_t i = 0; i < f->cell_count; i++) {
        const struct flame_cell *cell = &f->cells[i];
        if (cell->row >= rows || cell->x >= cols || cell->width < 1)
            continue;
        int y = top + cell->row;
        int width = cell->x + cell->width > cols ? cols - cell->x : cell->width;
        int area = width >= 2 ? width - 1 : width; /* one blank column between cells */
        bool selected = cell->node == f->selected;
        bool match = node_matches(app, cell->node);
        enum theme_role role = selected ? THEME_SELECTION
                               : match  ? THEME_SEARCH_MATCH
                                        : cell_role(app, cell->node, root_total);
        draw_fill(y, cell->x, area, role);
        if (area >= FLAME_MIN_LABEL)
            draw_label(app, y, cell->x, area, cell->node->name, role);
        if (!selected && !match) {
            /* Solid blocks: the role's colour as background. */
            attr_t attr = (attr_t)theme_attr(role);
            mvchgat(y, cell->x, area, (attr & ~A_COLOR) | A_REVERSE, (short)PAIR_NUMBER(attr),
                    NULL);
        }
    }
    if (f->cell_count == 0)
        draw_text(top, 1, cols - 1, "(nothing to draw yet)", THEME_STATUS);
}

/* ---- call tree ---- */

static const struct app_flame_fold *find_fold(const struct app *app, const struct flame_node *node)
{
    for (size_t i = 0; i < app->flame.fold_count; i++)
        if (app->flame.folds[i].node == node)
            return &app->flame.folds[i];
    return NULL;
}

static bool node_expanded(const struct app *app, const struct flame_node *node, uint64_t total)
{
    const struct app_flame_fold *fold = find_fold(app, node);
    if (fold)
        return fold->expanded;
    return !node->parent || share_of(node->total, total) >= FLAME_AUTO_EXPAND_SHARE;
}

static void set_fold(struct app *app, const struct flame_node *node, bool expanded)
{
    struct app_flame *f = &app->flame;
    for (size_t i = 0; i < f->fold_count; i++)
        if (f->folds[i].node == node) {
            f->folds[i].expanded = expanded;
            return;
        }
    if (f->fold_count == f->fold_capacity) {
        f->fold_capacity = f->fold_capacity ? f->fold_capacity * 2 : 32;
        f->folds = xrealloc(f->folds, f->fold_capacity * sizeof *f->folds);
    }
    f->folds[f->fold_count++] = (struct app_flame_fold){node, expanded};
}

static int compare_by_total(const void *a, const void *b)
{
    const struct flame_node *x = *(const struct flame_node *const *)a;
    const struct flame_node *y = *(const struct flame_node *const *)b;
    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static void add_tree_lines(struct app *app, const struct flame_node *node, int indent,
                           uint64_t total)
{
    struct app_flame *f = &app->flame;
    if (f->line_count == f->line_capacity) {
        f->line_capacity = f->line_capacity ? f->line_capacity * 2 : 64;
        f->lines = xrealloc(f->lines, f->line_capacity * sizeof *f->lines);
    }
    f->lines[f->line_count++] = (struct app_flame_line){node, indent};
    if (node->child_count == 0 || !node_expanded(app, node, total))
        return;
    const struct flame_node **children = xmalloc(node->child_count * sizeof *children);
    for (size_t i = 0; i < node->child_count; i++)
        children[i] = node->children[i];
    qsort(children, node->child_count, sizeof *children, compare_by_total);
    for (size_t i = 0; i < node->child_count; i++)
        add_tree_lines(app, children[i], indent + 1, total);
    free(children);
}

static void build_tree_lines(struct app *app)
{
    app->flame.line_count = 0;
    const struct flame_tree *tree = view_tree(app);
    if (!tree)
        return;
    const struct flame_node *root = flame_tree_root(tree);
    add_tree_lines(app, root, 0, root->total);
}

static long selected_line(const struct app *app)
{
    for (size_t i = 0; i < app->flame.line_count; i++)
        if (app->flame.lines[i].node == app->flame.selected)
            return (long)i;
    return 0;
}

static void keep_in_view(long selected, long *scroll, int rows)
{
    if (selected < *scroll)
        *scroll = selected;
    if (rows > 0 && selected >= *scroll + rows)
        *scroll = selected - rows + 1;
    if (*scroll < 0)
        *scroll = 0;
}

static void draw_tree(struct app *app, int top, int rows, int cols)
{
    struct app_flame *f = &app->flame;
    build_tree_lines(app);
    uint64_t total = flame_tree_root(view_tree(app))->total;
    draw_fill(top, 0, cols, THEME_TABLE_HEADER);
    draw_text(top, 0, cols, " total%   self%  function (top-down: callers above callees)",
              THEME_TABLE_HEADER);
    int list_rows = rows - 1;
    f->page_rows = list_rows;
    long selected = selected_line(app);
    if (f->line_count > 0)
        f->selected = f->lines[selected].node;
    keep_in_view(selected, &f->scroll, list_rows);
    for (int i = 0; i < list_rows && f->scroll + i < (long)f->line_count; i++) {
        long index = f->scroll + i;
        const struct app_flame_line *line = &f->lines[index];
        const struct flame_node *node = line->node;
        bool is_selected = index == selected;
        enum theme_role role = is_selected               ? THEME_SELECTION
                               : node_matches(app, node) ? THEME_SEARCH_MATCH
                                                         : THEME_DEFAULT;
        int y = top + 1 + i;
        draw_fill(y, 0, cols, role);
        const char *marker = node->child_count == 0            ? "  "
                             : node_expanded(app, node, total) ? "- "
                                                               : "+ ";
        int indent = line->indent * 2 > cols / 2 ? cols / 2 : line->indent * 2;
        int x = draw_printf(y, 0, cols, role, "%6.1f%% %6.1f%%  %*s%s",
                            100.0 * share_of(node->total, total),
                            100.0 * share_of(node->self, total), indent, "", marker);
        draw_label(app, y, x, cols - x, node->name, role);
    }
}

/* ---- hot functions ---- */

static void draw_hot(struct app *app, int top, int rows, int cols)
{
    struct app_flame *f = &app->flame;
    const struct flame_tree *tree = view_tree(app);
    uint64_t total = flame_tree_root(tree)->total;
    struct flame_hot_function *hot = NULL;
    size_t count = flame_hot_functions(tree, &hot);
    draw_fill(top, 0, cols, THEME_TABLE_HEADER);
    draw_text(top, 0, cols, "  self%  total%  function (bottom-up: hottest first)   module",
              THEME_TABLE_HEADER);
    int list_rows = rows - 1;
    f->page_rows = list_rows;
    if (f->hot_selected >= (long)count)
        f->hot_selected = (long)count - 1;
    if (f->hot_selected < 0)
        f->hot_selected = 0;
    keep_in_view(f->hot_selected, &f->scroll, list_rows);
    for (int i = 0; i < list_rows && f->scroll + i < (long)count; i++) {
        long index = f->scroll + i;
        const struct flame_hot_function *entry = &hot[index];
        enum theme_role role = index == f->hot_selected ? THEME_SELECTION : THEME_DEFAULT;
        int y = top + 1 + i;
        draw_fill(y, 0, cols, role);
        int x =
            draw_printf(y, 0, cols, role, "%6.1f%% %6.1f%%  ", 100.0 * share_of(entry->self, total),
                        100.0 * share_of(entry->total, total));
        int name_width = cols - x > 40 ? cols - x - 16 : cols - x;
        draw_label(app, y, x, name_width, entry->name, role);
        if (entry->module && cols - x > 40) {
            const char *base = strrchr(entry->module, '/');
            draw_label(app, y, cols - 15, 15, base ? base + 1 : entry->module,
                       index == f->hot_selected ? role : THEME_STATUS);
        }
    }
    if (count == 0 && list_rows > 0)
        draw_text(top + 1, 1, cols - 1, "no samples yet", THEME_STATUS);
    free(hot);
}

static void flame_draw(struct app *app, int top, int rows, int cols)
{
    struct app_flame *f = &app->flame;
    int used = draw_title(app, top, rows, cols);
    if (!f->run) {
        if (rows > 2)
            draw_text(top + 2, 1, cols - 1, f->error[0] ? f->error : "not sampling", THEME_WARNING);
        return;
    }
    if (f->error[0] && rows > used + 1) {
        draw_text(top + used, 1, cols - 1, f->error, THEME_WARNING);
        used++;
    }
    int body = rows - used;
    if (body < 1)
        return;
    static void (*const drawers[FLAME_MODE_COUNT])(struct app *, int, int, int) = {
        [FLAME_MODE_GRAPH] = draw_graph,
        [FLAME_MODE_TREE] = draw_tree,
        [FLAME_MODE_HOT] = draw_hot,
    };
    if (f->mode != FLAME_MODE_GRAPH && body < 2)
        return;
    drawers[f->mode](app, top + used, body, cols);
}

static void flame_footer(char *buf, size_t buflen)
{
    snprintf(buf, buflen,
             "Enter Zoom|Bksp Out|/ Search|l Layout|c Colour|p Stop/Sample|Esc Back|q Quit");
}

static void flame_footer_right(struct app *app, char *buf, size_t buflen)
{
    stats_text(app, buf, buflen);
}

const struct view_ops view_flame_ops = {"Flame", false, flame_draw, flame_footer,
                                        flame_footer_right};

/* ---- navigation ---- */

static void graph_move(struct app *app, enum flame_move move)
{
    struct app_flame *f = &app->flame;
    long at = cell_index_of(app, f->selected);
    if (at < 0) {
        f->selected = zoom_node(app);
        return;
    }
    const struct flame_cell *current = &f->cells[at];
    const struct flame_node *best = NULL;
    int best_value = 0;
    for (size_t i = 0; i < f->cell_count; i++) {
        const struct flame_cell *cell = &f->cells[i];
        switch (move) {
        case FLAME_MOVE_LEFT:
            if (cell->row == current->row && cell->x < current->x &&
                (!best || cell->x > best_value)) {
                best = cell->node;
                best_value = cell->x;
            }
            break;
        case FLAME_MOVE_RIGHT:
            if (cell->row == current->row && cell->x > current->x &&
                (!best || cell->x < best_value)) {
                best = cell->node;
                best_value = cell->x;
            }
            break;
        case FLAME_MOVE_DOWN:
            if (cell->node->parent == current->node && (!best || cell->width > best_value)) {
                best = cell->node;
                best_value = cell->width;
            }
            break;
        default:
            break;
        }
    }
    if (move == FLAME_MOVE_UP && current->node != zoom_node(app) && current->node->parent)
        best = current->node->parent;
    if (best)
        f->selected = best;
}

static void tree_move(struct app *app, enum flame_move move)
{
    struct app_flame *f = &app->flame;
    build_tree_lines(app);
    if (f->line_count == 0)
        return;
    uint64_t total = flame_tree_root(view_tree(app))->total;
    long at = selected_line(app);
    const struct flame_node *node = f->lines[at].node;
    long page = f->page_rows > 1 ? f->page_rows - 1 : 1;
    long target = at;
    switch (move) {
    case FLAME_MOVE_UP:
        target = at - 1;
        break;
    case FLAME_MOVE_DOWN:
        target = at + 1;
        break;
    case FLAME_MOVE_PAGE_UP:
        target = at - page;
        break;
    case FLAME_MOVE_PAGE_DOWN:
        target = at + page;
        break;
    case FLAME_MOVE_LEFT:
        if (node->child_count > 0 && node_expanded(app, node, total))
            set_fold(app, node, false);
        else if (node->parent)
            f->selected = node->parent;
        return;
    case FLAME_MOVE_RIGHT:
        if (node->child_count > 0 && !node_expanded(app, node, total))
            set_fold(app, node, true);
        else if (node->child_count > 0)
            target = at + 1;
        break;
    }
    if (target >= (long)f->line_count)
        target = (long)f->line_count - 1;
    if (target < 0)
        target = 0;
    f->selected = f->lines[target].node;
}

static void hot_move(struct app *app, enum flame_move move)
{
    struct app_flame *f = &app->flame;
    long page = f->page_rows > 1 ? f->page_rows - 1 : 1;
    static const long steps[] = {
        [FLAME_MOVE_LEFT] = 0, [FLAME_MOVE_RIGHT] = 0,    [FLAME_MOVE_UP] = -1,
        [FLAME_MOVE_DOWN] = 1, [FLAME_MOVE_PAGE_UP] = -2, [FLAME_MOVE_PAGE_DOWN] = 2,
    };
    long step = steps[move];
    if (step == 2 || step == -2)
        step = step / 2 * page;
    f->hot_selected += step; /* clamped when drawn */
    if (f->hot_selected < 0)
        f->hot_selected = 0;
}

void view_flame_move(struct app *app, enum flame_move move)
{
    if (!view_tree(app))
        return;
    static void (*const movers[FLAME_MODE_COUNT])(struct app *, enum flame_move) = {
        [FLAME_MODE_GRAPH] = graph_move,
        [FLAME_MODE_TREE] = tree_move,
        [FLAME_MODE_HOT] = hot_move,
    };
    movers[app->flame.mode](app, move);
}

void view_flame_enter(struct app *app)
{
    struct app_flame *f = &app->flame;
    const struct flame_tree *tree = view_tree(app);
    if (!tree)
        return;
    if (f->mode == FLAME_MODE_GRAPH) {
        if (f->selected && f->selected != flame_tree_root(tree)) {
            f->zoom = f->selected;
            app_set_status(app, "zoomed in (Backspace or Esc: out)");
        }
        return;
    }
    if (f->mode == FLAME_MODE_TREE) {
        uint64_t total = flame_tree_root(tree)->total;
        if (f->selected && f->selected->child_count > 0)
            set_fold(app, f->selected, !node_expanded(app, f->selected, total));
        return;
    }
    /* Hot list: show that function in the graph, highlighted. */
    struct flame_hot_function *hot = NULL;
    size_t count = flame_hot_functions(tree, &hot);
    if (f->hot_selected >= 0 && (size_t)f->hot_selected < count && hot[f->hot_selected].name) {
        snprintf(f->search, sizeof f->search, "%s", hot[f->hot_selected].name);
        f->mode = FLAME_MODE_GRAPH;
        f->zoom = NULL;
        view_flame_select_match(app);
    }
    free(hot);
}

bool view_flame_zoom_out(struct app *app)
{
    struct app_flame *f = &app->flame;
    const struct flame_tree *tree = view_tree(app);
    if (!tree || !f->zoom || f->zoom == flame_tree_root(tree))
        return false;
    f->selected = f->zoom;
    f->zoom = f->zoom->parent;
    if (f->zoom == flame_tree_root(tree))
        f->zoom = NULL;
    return true;
}

/* The node with the largest total whose name contains needle. */
static const struct flame_node *widest_match(const struct flame_node *node, const char *needle,
                                             const struct flame_node *best)
{
    if (node->name && node->parent && strstr(node->name, needle) &&
        (!best || node->total > best->total))
        best = node;
    for (size_t i = 0; i < node->child_count; i++)
        best = widest_match(node->children[i], needle, best);
    return best;
}

void view_flame_select_match(struct app *app)
{
    struct app_flame *f = &app->flame;
    const struct flame_tree *tree = view_tree(app);
    if (!tree || !f->search[0])
        return;
    const struct flame_node *match = widest_match(flame_tree_root(tree), f->search, NULL);
    if (!match) {
        app_set_status(app, "no frame matches");
        return;
    }
    f->selected = match;
    if (f->zoom && !node_is_within(match, f->zoom))
        f->zoom = NULL;
}

void view_flame_reset(struct app *app)
{
    struct app_flame *f = &app->flame;
    f->zoom = NULL;
    f->selected = NULL;
    f->cell_count = 0;
    f->fold_count = 0;
    f->line_count = 0;
    f->hot_selected = 0;
    f->scroll = 0;
}

void view_flame_free(struct app *app)
{
    struct app_flame *f = &app->flame;
    view_flame_reset(app);
    free(f->cells);
    free(f->folds);
    free(f->lines);
    f->cells = NULL;
    f->folds = NULL;
    f->lines = NULL;
    f->cell_capacity = f->fold_capacity = f->line_capacity = 0;
}

/*
 * procview: the ordered list of rows a user sees, built from one refresh's entries.
 *
 * Owns: selection (kernel-thread and thread toggles, pid list, text filter), ordering (sort by
 * any column, tree by parent pid), and row lookup (search, index of a pid).
 * Invariants:
 *   - every entry appears at most once, and thread rows come directly after their process
 *     (sorted among themselves by the same key), in flat and in tree mode; a thread whose
 *     process is absent from the entries is shown as a row of its own;
 *   - the order is total: equal keys fall back to pid ascending, whatever the direction;
 *   - a build is O(n log n), allocates a fixed number of scratch arrays (never per row), and
 *     terminates on any input: ppid cycles and very deep trees are handled without recursion.
 * Filter semantics (decided here, documented for the console's help):
 *   - a thread row is shown when it matches or its process matches; a process is shown when it
 *     matches or one of its shown threads matches (so a matching thread keeps its context);
 *   - in tree mode the ancestors of every shown process are kept too (unlike htop, which just
 *     hides them) so the tree still says where a match lives; kept ancestors show only their
 *     own matching threads. The pid list keeps exactly its processes, without ancestors.
 * Tree mode: a process is a root when its parent is not shown (pid 1, kthreadd, a filtered-out
 * parent). A ppid cycle is broken at the first of its members met when walking up from the
 * first (in view order) unit that leads into it; that member becomes a root.
 */
#include "procview.h"

#include <stdint.h>
#include <stdlib.h>

#include "xalloc.h"

/* "No unit": a root's parent, or a pid that is not in the table. */
#define NO_UNIT SIZE_MAX

/* Depths at and beyond this have no bit in procview_row.open_ancestors. */
#define OPEN_ANCESTOR_BITS 64

/* A group of rows: a process and its threads, or a thread whose process is absent. */
struct view_unit {
    const struct proc_entry *entry; /* the process (or the orphan thread) */
    size_t parent;                  /* tree parent among shown units, or NO_UNIT */
    size_t first_thread;            /* first of its shown threads in build.thread_order */
    size_t thread_count;            /* its shown threads */
    size_t first_child;             /* first of its children in build.children */
    size_t child_count;             /* its children (tree mode) */
    bool matched;                   /* passes the text filter by itself */
    bool shown;                     /* becomes a row */
    unsigned char walk;             /* tree: cycle-breaking walk state (enum unit_walk) */
};

/* A thread row candidate. */
struct view_thread {
    const struct proc_entry *entry; /* the thread */
    size_t unit;                    /* its process's unit */
    bool shown;                     /* becomes a row */
};

/* Progress of the walk that breaks ppid cycles. */
enum unit_walk {
    UNIT_WALK_UNKNOWN = 0, /* not yet known to reach a root */
    UNIT_WALK_ACTIVE,      /* on the current walk's path */
    UNIT_WALK_ROOTED,      /* its parent chain ends at a root */
};

/* What a sort compares: an entry, and where it came from. */
struct sort_item {
    const struct proc_entry *entry; /* compared by the view's column */
    size_t index;                   /* the unit or thread it stands for */
};

/* Scratch state of one procview_build. */
struct view_build {
    const struct procview_options *options; /* what to show and how */
    bool filtering;                         /* a non-empty text filter is set */
    pid_t *pids;                            /* sorted copy of options->pids, or NULL */
    struct view_unit *units;                /* processes sorted by pid, then orphan threads */
    size_t process_count;                   /* units[0..process_count) are processes */
    size_t unit_count;                      /* units in use */
    struct view_thread *threads;            /* thread candidates */
    size_t thread_count;                    /* threads in use */
    struct sort_item *items;                /* sort buffer, later shown units in view order */
    size_t shown_unit_count;                /* shown units (items in use) */
    size_t *thread_order;                   /* shown threads grouped by unit, in view order */
    size_t *children;                       /* child units grouped by parent, in view order */
};

/* One pending row of the tree walk. */
struct tree_frame {
    size_t index;            /* unit or thread index */
    bool is_thread;          /* index is into threads, not units */
    int depth;               /* the row's depth */
    bool last_sibling;       /* the row is its parent's last child */
    uint64_t open_ancestors; /* the row's open_ancestors */
};

/* ---- matching ---- */

static unsigned char fold_case(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive substring test; bytes >= 0x80 must match exactly. */
static bool contains_folded(const char *haystack, const char *needle)
{
    if (!needle[0])
        return true;
    for (const char *start = haystack; *start; start++) {
        size_t i = 0;
        while (needle[i] &&
               fold_case((unsigned char)start[i]) == fold_case((unsigned char)needle[i]))
            i++;
        if (!needle[i])
            return true;
    }
    return false;
}

bool procview_matches(const struct proc_entry *entry, const char *needle)
{
    if (!needle || !needle[0])
        return true;
    if (contains_folded(entry->comm, needle))
        return true;
    return entry->cmdline && contains_folded(entry->cmdline, needle);
}

/* ---- sorting ---- */

static int compare_pid_values(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

static int compare_units_by_pid(const void *a, const void *b)
{
    const struct view_unit *x = a, *y = b;
    return columns_compare_tie(x->entry, y->entry);
}

/* The view's order: the column in the chosen direction, then the ascending tie-break. */
static int compare_items(const void *a, const void *b, void *context)
{
    const struct procview_options *options = context;
    const struct sort_item *x = a, *y = b;
    int r = columns_compare_value(options->sort_column, x->entry, y->entry);
    if (options->descending)
        r = -r;
    return r ? r : columns_compare_tie(x->entry, y->entry);
}

static void sort_items(struct sort_item *items, size_t count,
                       const struct procview_options *options)
{
    qsort_r(items, count, sizeof *items, compare_items, (void *)options);
}

/* ---- selection ---- */

/* The unit index of process pid, or NO_UNIT. */
static size_t find_process(const struct view_build *build, pid_t pid)
{
    size_t low = 0, high = build->process_count;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        pid_t at = build->units[mid].entry->pid;
        if (at == pid)
            return mid;
        if (at < pid)
            low = mid + 1;
        else
            high = mid;
    }
    return NO_UNIT;
}

/* Kernel-thread toggle and pid list; a thread is judged by its process id. */
static bool passes_selection(const struct view_build *build, const struct proc_entry *e)
{
    const struct procview_options *options = build->options;
    if (e->is_kernel_thread && !options->show_kernel_threads)
        return false;
    if (e->is_thread && !options->show_threads)
        return false;
    if (options->pids) {
        pid_t owner = e->is_thread ? e->tgid : e->pid;
        if (!bsearch(&owner, build->pids, options->pid_count, sizeof owner, compare_pid_values))
            return false;
    }
    return true;
}

/* Splits entries into units (processes sorted by pid, then orphan threads) and threads. */
static void collect(struct view_build *build, const struct proc_entry *const *entries, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const struct proc_entry *e = entries[i];
        if (!e || !passes_selection(build, e))
            continue;
        if (e->is_thread)
            build->threads[build->thread_count++] = (struct view_thread){.entry = e};
        else
            build->units[build->unit_count++] = (struct view_unit){.entry = e};
    }
    build->process_count = build->unit_count;
    qsort(build->units, build->process_count, sizeof *build->units, compare_units_by_pid);

    size_t kept = 0;
    for (size_t i = 0; i < build->thread_count; i++) {
        struct view_thread thread = build->threads[i];
        thread.unit = find_process(build, thread.entry->tgid);
        if (thread.unit == NO_UNIT) /* its process vanished or was never read */
            build->units[build->unit_count++] = (struct view_unit){.entry = thread.entry};
        else
            build->threads[kept++] = thread;
    }
    build->thread_count = kept;
}

/* Applies the text filter: sets matched and shown on units and threads. */
static void apply_filter(struct view_build *build)
{
    const char *filter = build->options->filter;
    for (size_t u = 0; u < build->unit_count; u++) {
        struct view_unit *unit = &build->units[u];
        unit->matched = !build->filtering || procview_matches(unit->entry, filter);
        unit->shown = unit->matched;
    }
    for (size_t t = 0; t < build->thread_count; t++) {
        struct view_thread *thread = &build->threads[t];
        struct view_unit *unit = &build->units[thread->unit];
        bool matched = !build->filtering || procview_matches(thread->entry, filter);
        thread->shown = matched || unit->matched;
        if (matched)
            unit->shown = true;
    }
}

/* Tree parent of every unit among all selected processes (before the text filter). */
static void link_parents(struct view_build *build)
{
    for (size_t u = 0; u < build->unit_count; u++) {
        struct view_unit *unit = &build->units[u];
        size_t parent = NO_UNIT;
        if (u < build->process_count)
            parent = find_process(build, unit->entry->metrics.ppid);
        unit->parent = parent == u ? NO_UNIT : parent;
    }
}

/* Tree mode with a filter: keeps the ancestors of every shown unit. Each unit is marked at
 * most once, so a walk stops at the first shown ancestor and cycles end. */
static void keep_ancestors(struct view_build *build)
{
    for (size_t u = 0; u < build->unit_count; u++) {
        if (!build->units[u].shown)
            continue;
        for (size_t p = build->units[u].parent; p != NO_UNIT && !build->units[p].shown;
             p = build->units[p].parent)
            build->units[p].shown = true;
    }
}

/* Gathers the shown units into build->items, in view order. */
static void order_units(struct view_build *build)
{
    size_t n = 0;
    for (size_t u = 0; u < build->unit_count; u++)
        if (build->units[u].shown)
            build->items[n++] = (struct sort_item){build->units[u].entry, u};
    sort_items(build->items, n, build->options);
    build->shown_unit_count = n;
}

/* Groups the shown threads by unit, each group in view order (a stable distribution of one
 * sorted list). Reuses the tail of build->items, which order_units leaves free. */
static void order_threads(struct view_build *build)
{
    struct sort_item *sorted = build->items + build->shown_unit_count;
    size_t n = 0;
    for (size_t t = 0; t < build->thread_count; t++)
        if (build->threads[t].shown && build->units[build->threads[t].unit].shown)
            sorted[n++] = (struct sort_item){build->threads[t].entry, t};
    sort_items(sorted, n, build->options);

    for (size_t i = 0; i < n; i++)
        build->units[build->threads[sorted[i].index].unit].thread_count++;
    size_t next = 0;
    for (size_t u = 0; u < build->unit_count; u++) {
        build->units[u].first_thread = next;
        next += build->units[u].thread_count;
        build->units[u].thread_count = 0;
    }
    for (size_t i = 0; i < n; i++) {
        struct view_unit *unit = &build->units[build->threads[sorted[i].index].unit];
        build->thread_order[unit->first_thread + unit->thread_count++] = sorted[i].index;
    }
}

/* ---- tree ---- */

/* Makes every shown unit's parent chain end at a root: parents that are not shown are
 * dropped, and each ppid cycle is cut at the first of its members met. O(n) overall: every
 * unit is walked once before it is known rooted. */
static void break_cycles(struct view_build *build)
{
    struct view_unit *units = build->units;
    for (size_t u = 0; u < build->unit_count; u++)
        if (units[u].parent != NO_UNIT && !units[units[u].parent].shown)
            units[u].parent = NO_UNIT;

    for (size_t i = 0; i < build->shown_unit_count; i++) {
        size_t start = build->items[i].index, at = start, cut = NO_UNIT;
        while (units[at].walk != UNIT_WALK_ROOTED) {
            if (units[at].walk == UNIT_WALK_ACTIVE) {
                cut = at; /* came back to a unit of this walk: a cycle through it */
                break;
            }
            units[at].walk = UNIT_WALK_ACTIVE;
            if (units[at].parent == NO_UNIT)
                break;
            at = units[at].parent;
        }
        for (at = start; at != NO_UNIT && units[at].walk == UNIT_WALK_ACTIVE; at = units[at].parent)
            units[at].walk = UNIT_WALK_ROOTED;
        if (cut != NO_UNIT)
            units[cut].parent = NO_UNIT;
    }
}

/* Groups child units by parent, each group in view order. */
static void link_children(struct view_build *build)
{
    struct view_unit *units = build->units;
    for (size_t i = 0; i < build->shown_unit_count; i++) {
        size_t parent = units[build->items[i].index].parent;
        if (parent != NO_UNIT)
            units[parent].child_count++;
    }
    size_t next = 0;
    for (size_t u = 0; u < build->unit_count; u++) {
        units[u].first_child = next;
        next += units[u].child_count;
        units[u].child_count = 0;
    }
    for (size_t i = 0; i < build->shown_unit_count; i++) {
        size_t child = build->items[i].index;
        size_t parent = units[child].parent;
        if (parent != NO_UNIT)
            build->children[units[parent].first_child + units[parent].child_count++] = child;
    }
}

static struct procview_row tree_row(const struct view_build *build, const struct tree_frame *f)
{
    const struct proc_entry *entry =
        f->is_thread ? build->threads[f->index].entry : build->units[f->index].entry;
    return (struct procview_row){entry, f->depth, f->last_sibling, f->open_ancestors};
}

/* Depth-first walk with an explicit stack (sized for every row, since each is pushed once):
 * a process, its threads, then its child processes. */
static size_t emit_tree(struct view_build *build, struct procview_row *rows, size_t row_limit)
{
    struct tree_frame *stack = xmalloc(row_limit * sizeof *stack);
    size_t depth_of_stack = 0, n = 0;

    size_t roots = 0;
    for (size_t i = 0; i < build->shown_unit_count; i++)
        if (build->units[build->items[i].index].parent == NO_UNIT)
            roots++;
    /* Roots are pushed last-first so that the first pops first. */
    size_t remaining = roots;
    for (size_t i = build->shown_unit_count; i-- > 0;) {
        size_t u = build->items[i].index;
        if (build->units[u].parent != NO_UNIT)
            continue;
        stack[depth_of_stack++] =
            (struct tree_frame){.index = u, .depth = 0, .last_sibling = remaining == roots};
        remaining--;
    }

    while (depth_of_stack > 0) {
        struct tree_frame frame = stack[--depth_of_stack];
        rows[n++] = tree_row(build, &frame);
        if (frame.is_thread)
            continue;

        const struct view_unit *unit = &build->units[frame.index];
        uint64_t open = frame.open_ancestors;
        if (!frame.last_sibling && frame.depth < OPEN_ANCESTOR_BITS)
            open |= UINT64_C(1) << frame.depth;
        size_t total = unit->thread_count + unit->child_count;
        for (size_t k = total; k-- > 0;) {
            bool is_thread = k < unit->thread_count;
            size_t index = is_thread ? build->thread_order[unit->first_thread + k]
                                     : build->children[unit->first_child + k - unit->thread_count];
            stack[depth_of_stack++] = (struct tree_frame){.index = index,
                                                          .is_thread = is_thread,
                                                          .depth = frame.depth + 1,
                                                          .last_sibling = k + 1 == total,
                                                          .open_ancestors = open};
        }
    }
    free(stack);
    return n;
}

/* Flat list: every shown unit in view order, each followed by its threads. */
static size_t emit_flat(const struct view_build *build, struct procview_row *rows)
{
    size_t n = 0;
    for (size_t i = 0; i < build->shown_unit_count; i++) {
        const struct view_unit *unit = &build->units[build->items[i].index];
        rows[n++] = (struct procview_row){.entry = unit->entry};
        for (size_t k = 0; k < unit->thread_count; k++) {
            size_t t = build->thread_order[unit->first_thread + k];
            rows[n++] = (struct procview_row){.entry = build->threads[t].entry};
        }
    }
    return n;
}

size_t procview_build(const struct proc_entry *const *entries, size_t count,
                      const struct procview_options *options, struct procview_row **rows,
                      size_t *capacity)
{
    static const struct procview_options defaults = {.sort_column = COLUMN_PID,
                                                     .show_kernel_threads = true};
    if (!options)
        options = &defaults;
    xgrow((void **)rows, capacity, count ? count : 1, sizeof **rows);
    if (count == 0 || !entries)
        return 0;

    struct view_build build = {
        .options = options,
        .filtering = options->filter && options->filter[0],
        .units = xmalloc(count * sizeof *build.units),
        .threads = xmalloc(count * sizeof *build.threads),
        .items = xmalloc(count * sizeof *build.items),
        .thread_order = xmalloc(count * sizeof *build.thread_order),
        .children = xmalloc(count * sizeof *build.children),
    };
    if (options->pids) {
        build.pids = xmalloc((options->pid_count ? options->pid_count : 1) * sizeof *build.pids);
        for (size_t i = 0; i < options->pid_count; i++)
            build.pids[i] = options->pids[i];
        qsort(build.pids, options->pid_count, sizeof *build.pids, compare_pid_values);
    }

    collect(&build, entries, count);
    apply_filter(&build);
    if (options->tree) {
        link_parents(&build);
        if (build.filtering)
            keep_ancestors(&build);
    }
    order_units(&build);
    order_threads(&build);

    size_t n;
    if (options->tree) {
        break_cycles(&build);
        link_children(&build);
        n = emit_tree(&build, *rows, count);
    } else {
        n = emit_flat(&build, *rows);
    }

    free(build.pids);
    free(build.children);
    free(build.thread_order);
    free(build.items);
    free(build.threads);
    free(build.units);
    return n;
}

/* ---- lookup ---- */

long procview_search(const struct procview_row *rows, size_t count, size_t start,
                     const char *needle, int direction)
{
    if (count == 0 || !rows)
        return -1;
    if (start >= count)
        start = direction < 0 ? count - 1 : 0;
    size_t at = start;
    for (size_t tried = 0; tried < count; tried++) {
        if (procview_matches(rows[at].entry, needle))
            return (long)at;
        if (direction < 0)
            at = at == 0 ? count - 1 : at - 1;
        else
            at = at + 1 == count ? 0 : at + 1;
    }
    return -1;
}

long procview_index_of(const struct procview_row *rows, size_t count, pid_t pid)
{
    long thread_match = -1;
    for (size_t i = 0; rows && i < count; i++) {
        if (rows[i].entry->pid != pid)
            continue;
        if (!rows[i].entry->is_thread)
            return (long)i;
        if (thread_match < 0)
            thread_match = (long)i;
    }
    return thread_match;
}

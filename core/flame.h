/*
 * flame: the flame tree — stacks (from perf samples, stack captures or folded text) merged
 * root to leaf, with self and total counts; pruning for display; layout of an icicle graph
 * into terminal cells; top-down and bottom-up views; folded-stack text in and out. The same
 * tree serves the console views, the exports and (later) diffs. No drawing, no colours.
 */
#ifndef STACKTOP_FLAME_H
#define STACKTOP_FLAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "capture.h"

/* One node: a frame in a calling context. */
struct flame_node {
    const char *name;             /* frame label: function, or "module+0xoff"; interned */
    const char *module;           /* module path (for colouring by module); interned, or NULL */
    uint64_t self;                /* samples whose leaf is this node */
    uint64_t total;               /* samples in this node's subtree (self included) */
    struct flame_node *parent;    /* caller; NULL for the root */
    struct flame_node **children; /* callees, sorted by name (stable layout) */
    size_t child_count;           /* entries in children */
    size_t child_capacity;        /* allocated slots */
    int depth;                    /* 0 for the root ("all"), 1 for outermost frames */
};

/* Deepest stack kept below the root. Deeper stacks passed to flame_tree_add_frames or
 * flame_tree_add_names keep their outermost FLAME_MAX_DEPTH frames (the samples count as self
 * of the last one kept); flame_tree_add_folded rejects such a line. It bounds the recursion of
 * every walk over the tree. */
#define FLAME_MAX_DEPTH 1024

struct flame_tree;

struct flame_tree *flame_tree_new(void);
void flame_tree_free(struct flame_tree *tree);

/* The root node ("all"): total = every sample added. */
const struct flame_node *flame_tree_root(const struct flame_tree *tree);

/* Nodes in the tree, the root included (for tests and benchmarks). */
size_t flame_tree_node_count(const struct flame_tree *tree);

/* Adds count samples of one stack given innermost first (as captured). */
void flame_tree_add_frames(struct flame_tree *tree, const struct capture_frame *frames,
                           size_t frame_count, uint64_t count);

/* Adds count samples of a stack given as names, outermost first (folded order). */
void flame_tree_add_names(struct flame_tree *tree, const char *const *names, size_t count_names,
                          uint64_t count);

/* Parses folded text ("a;b;c 12" per line, as flamegraph.pl, inferno and speedscope read).
 * Returns the number of lines added, or -1 with err set (line number and reason). */
long flame_tree_add_folded(struct flame_tree *tree, const char *text, size_t length, char *err,
                           size_t errlen);

/* Writes folded text: one line per distinct root-to-leaf path with self > 0, sorted, so that
 * parsing it back gives the same tree. Names are written as stored (sanitize before showing;
 * ';' and newlines inside names are replaced so that the format stays parseable). */
void flame_tree_write_folded(const struct flame_tree *tree, FILE *out);

/* One cell run of an icicle layout: a node drawn at row depth from column x, width columns. */
struct flame_cell {
    const struct flame_node *node; /* the node */
    int row;                       /* depth below the zoom root (0 = the zoom root itself) */
    int x;                         /* first column */
    int width;                     /* columns (>= 1) */
};

/* Lays out the subtree of zoom (NULL = root) into width columns: children in name order,
 * widths proportional to total, nodes narrower than one column pruned. At most max_rows rows.
 * Returns the number of cells written to *cells (reusable buffer of *capacity cells). */
size_t flame_layout(const struct flame_tree *tree, const struct flame_node *zoom, int width,
                    int max_rows, struct flame_cell **cells, size_t *capacity);

/* Total samples of the nodes whose name contains needle (case-sensitive substring), counting a
 * subtree once even when several matching frames nest inside it. */
uint64_t flame_match_total(const struct flame_tree *tree, const char *needle);

/* Bottom-up view: one entry per function name, with the samples where it is the leaf (self)
 * and where it is anywhere on the stack (total, counted once per sample). Sorted by self,
 * descending. Returns the count; free with free(). */
struct flame_hot_function {
    const char *name;   /* function label */
    const char *module; /* its module (first seen) */
    uint64_t self;      /* samples with this function as leaf */
    uint64_t total;     /* samples with this function anywhere in the stack */
};
size_t flame_hot_functions(const struct flame_tree *tree, struct flame_hot_function **out);

/* Drops nodes whose total is below min_fraction of the root's (for display and exports); the
 * pruned samples stay in the parents' totals (they become part of the parent's "other"). */
void flame_tree_prune(struct flame_tree *tree, double min_fraction);

/* Text report (`profile --format text`): the top-down tree with total% and self%, indented,
 * pruned at min_fraction, and the hottest functions. JSON: the tree as nested objects
 * {"name","module","self","total","children":[...]}. Target strings are sanitized. */
void flame_tree_print_text(const struct flame_tree *tree, double min_fraction, FILE *out);
void flame_tree_print_json(const struct flame_tree *tree, FILE *out);

#endif

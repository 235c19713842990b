/*
 * test_flame: the flame tree (core/flame.c) — building from captured frames and from names,
 * merging, totals and selfs, layout widths, search totals, bottom-up hot functions with
 * recursion, pruning, folded text round trips (random trees with a fixed seed too) and parse
 * errors, JSON checked by python3, and the text report.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "flame.h"

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                   */

static const struct flame_node *child_named(const struct flame_node *node, const char *name)
{
    if (!node)
        return NULL;
    for (size_t i = 0; i < node->child_count; i++)
        if (strcmp(node->children[i]->name, name) == 0)
            return node->children[i];
    return NULL;
}

/* The node at a ';'-separated path below the root ("a;b;c"), or NULL. */
static const struct flame_node *node_at(const struct flame_tree *tree, const char *path)
{
    char *copy = strdup(path), *save = NULL;
    const struct flame_node *node = flame_tree_root(tree);
    for (char *part = strtok_r(copy, ";", &save); part && node; part = strtok_r(NULL, ";", &save))
        node = child_named(node, part);
    free(copy);
    return node;
}

static uint64_t total_at(const struct flame_tree *tree, const char *path)
{
    const struct flame_node *node = node_at(tree, path);
    return node ? node->total : UINT64_MAX;
}

static uint64_t self_at(const struct flame_tree *tree, const char *path)
{
    const struct flame_node *node = node_at(tree, path);
    return node ? node->self : UINT64_MAX;
}

/* Adds "a;b;c" (no tricky names) count times. */
static void add_path(struct flame_tree *tree, const char *path, uint64_t count)
{
    const char *names[64];
    char *copy = strdup(path), *save = NULL;
    size_t n = 0;
    for (char *part = strtok_r(copy, ";", &save); part && n < 64; part = strtok_r(NULL, ";", &save))
        names[n++] = part;
    flame_tree_add_names(tree, names, n, count);
    free(copy);
}

static bool nodes_equal(const struct flame_node *a, const struct flame_node *b)
{
    if (strcmp(a->name, b->name) != 0 || a->self != b->self || a->total != b->total ||
        a->child_count != b->child_count || a->depth != b->depth)
        return false;
    for (size_t i = 0; i < a->child_count; i++)
        if (!nodes_equal(a->children[i], b->children[i]))
            return false;
    return true;
}

/* Checks the invariants: children sorted and unique, total = self + children, depth. */
static bool node_consistent(const struct flame_node *node)
{
    uint64_t sum = node->self;
    for (size_t i = 0; i < node->child_count; i++) {
        const struct flame_node *child = node->children[i];
        if (i > 0 && strcmp(node->children[i - 1]->name, child->name) >= 0)
            return false;
        if (child->parent != node || child->depth != node->depth + 1 || !node_consistent(child))
            return false;
        sum += child->total;
    }
    return sum == node->total;
}

static char *folded_text(const struct flame_tree *tree)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    flame_tree_write_folded(tree, out);
    fclose(out);
    return text;
}

static char *text_report(const struct flame_tree *tree, double min_fraction)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    flame_tree_print_text(tree, min_fraction, out);
    fclose(out);
    return text;
}

/* Parses folded text into a fresh tree; NULL (with the error printed) on failure. */
static struct flame_tree *parse_folded(const char *text)
{
    struct flame_tree *tree = flame_tree_new();
    char err[256];
    if (flame_tree_add_folded(tree, text, strlen(text), err, sizeof err) < 0) {
        fprintf(stderr, "parse failed: %s\n", err);
        flame_tree_free(tree);
        return NULL;
    }
    return tree;
}

/* ---------------------------------------------------------------------------------------- */
/* Building                                                                                  */

static void test_add_frames(void)
{
    struct flame_tree *tree = flame_tree_new();
    /* Innermost first, as captured: main -> run -> (inlined helper) -> work. */
    struct capture_frame stack[] = {
        {.pc = 0x401010, .function = "work", .module = "/usr/bin/server"},
        {.pc = 0x401020, .function = "helper", .module = "/usr/bin/server", .is_inline = true},
        {.pc = 0x401020, .function = "run", .module = "/usr/bin/server"},
        {.pc = 0x401030, .function = "main", .module = "/usr/bin/server"},
    };
    flame_tree_add_frames(tree, stack, 4, 3);
    flame_tree_add_frames(tree, stack, 4, 2); /* merges */
    flame_tree_add_frames(tree, stack + 2, 2, 1);
    /* Unknown functions: module+offset, then a bare PC. */
    struct capture_frame stripped[] = {
        {.pc = 0xdeadbeef},
        {.pc = 0x7f0000001234,
         .module = "/usr/lib/x86_64-linux-gnu/libfoo.so.1",
         .module_offset = 0x1234},
        {.pc = 0x401030, .function = "main", .module = "/usr/bin/server"},
    };
    flame_tree_add_frames(tree, stripped, 3, 4);
    flame_tree_add_frames(tree, NULL, 0, 1); /* empty stack: the root's own */

    const struct flame_node *root = flame_tree_root(tree);
    CHECK_STR(root->name, "all");
    CHECK_INT(root->depth, 0);
    CHECK_INT(root->total, 11);
    CHECK_INT(root->self, 1);
    CHECK_INT(total_at(tree, "main"), 10);
    CHECK_INT(self_at(tree, "main"), 0);
    CHECK_INT(total_at(tree, "main;run"), 6);
    CHECK_INT(self_at(tree, "main;run"), 1);
    CHECK_INT(total_at(tree, "main;run;helper"), 5);
    CHECK_INT(self_at(tree, "main;run;helper;work"), 5);
    CHECK_INT(node_at(tree, "main;run;helper;work")->depth, 4);
    CHECK_INT(self_at(tree, "main;libfoo.so.1+0x1234;0xdeadbeef"), 4);
    CHECK_STR(node_at(tree, "main")->module, "/usr/bin/server");
    CHECK(node_at(tree, "main;libfoo.so.1+0x1234;0xdeadbeef")->module == NULL);
    CHECK_INT(flame_tree_node_count(tree), 1 + 6);
    CHECK(node_consistent(root));
    flame_tree_free(tree);
}

static void test_names_sorted_merged_interned(void)
{
    struct flame_tree *tree = flame_tree_new();
    add_path(tree, "z;x", 1);
    add_path(tree, "a;x", 2);
    add_path(tree, "m", 3);
    add_path(tree, "a;x", 4);
    const struct flame_node *root = flame_tree_root(tree);
    CHECK_INT(root->child_count, 3);
    CHECK_STR(root->children[0]->name, "a");
    CHECK_STR(root->children[1]->name, "m");
    CHECK_STR(root->children[2]->name, "z");
    CHECK_INT(total_at(tree, "a;x"), 6);
    CHECK_INT(self_at(tree, "m"), 3);
    /* Interned: the two "x" nodes share one label. */
    CHECK(node_at(tree, "a;x")->name == node_at(tree, "z;x")->name);
    CHECK(node_consistent(root));
    flame_tree_free(tree);
}

static void test_depth_limit(void)
{
    struct flame_tree *tree = flame_tree_new();
    static const char *names[FLAME_MAX_DEPTH + 100];
    for (size_t i = 0; i < FLAME_MAX_DEPTH + 100; i++)
        names[i] = "f";
    flame_tree_add_names(tree, names, FLAME_MAX_DEPTH + 100, 1);
    CHECK_INT(flame_tree_node_count(tree), FLAME_MAX_DEPTH + 1);
    CHECK(node_consistent(flame_tree_root(tree)));
    flame_tree_free(tree);

    /* A folded line deeper than the limit is an error. */
    size_t length = (FLAME_MAX_DEPTH + 10) * 2 + 8;
    char *text = malloc(length);
    size_t at = 0;
    for (size_t i = 0; i < FLAME_MAX_DEPTH + 10; i++) {
        text[at++] = 'f';
        text[at++] = ';';
    }
    memcpy(text + at - 1, " 1\n", 3);
    at += 2;
    tree = flame_tree_new();
    char err[256];
    CHECK_INT(flame_tree_add_folded(tree, text, at, err, sizeof err), -1);
    CHECK(strstr(err, "line 1") != NULL);
    flame_tree_free(tree);
    free(text);
}

/* ---------------------------------------------------------------------------------------- */
/* Layout                                                                                    */

/* root 100: A 60 (A1 30, A2 30 (A2a 1)), B 39, C 1. */
static struct flame_tree *layout_tree(void)
{
    struct flame_tree *tree = flame_tree_new();
    add_path(tree, "A;A1", 30);
    add_path(tree, "A;A2", 29);
    add_path(tree, "A;A2;A2a", 1);
    add_path(tree, "B", 39);
    add_path(tree, "C", 1);
    return tree;
}

static const struct flame_cell *cell_of(const struct flame_cell *cells, size_t count,
                                        const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(cells[i].node->name, name) == 0)
            return &cells[i];
    return NULL;
}

#define CHECK_CELL(cells, count, name, row_, x_, width_)                                           \
    do {                                                                                           \
        const struct flame_cell *cell_ = cell_of(cells, count, name);                              \
        CHECK(cell_ != NULL);                                                                      \
        if (cell_) {                                                                               \
            CHECK_INT(cell_->row, row_);                                                           \
            CHECK_INT(cell_->x, x_);                                                               \
            CHECK_INT(cell_->width, width_);                                                       \
        }                                                                                          \
    } while (0)

static void test_layout_known_tree(void)
{
    struct flame_tree *tree = layout_tree();
    struct flame_cell *cells = NULL;
    size_t capacity = 0;

    size_t count = flame_layout(tree, NULL, 100, 50, &cells, &capacity);
    CHECK_INT(count, 7);
    CHECK_CELL(cells, count, "all", 0, 0, 100);
    CHECK_CELL(cells, count, "A", 1, 0, 60);
    CHECK_CELL(cells, count, "A1", 2, 0, 30);
    CHECK_CELL(cells, count, "A2", 2, 30, 30);
    CHECK_CELL(cells, count, "A2a", 3, 30, 1);
    CHECK_CELL(cells, count, "B", 1, 60, 39);
    CHECK_CELL(cells, count, "C", 1, 99, 1);

    count = flame_layout(tree, NULL, 50, 50, &cells, &capacity);
    CHECK_INT(count, 5); /* A2a and C are half a column: pruned */
    CHECK_CELL(cells, count, "A", 1, 0, 30);
    CHECK_CELL(cells, count, "A2", 2, 15, 15);
    CHECK_CELL(cells, count, "B", 1, 30, 19);
    CHECK(cell_of(cells, count, "A2a") == NULL);
    CHECK(cell_of(cells, count, "C") == NULL);

    count = flame_layout(tree, NULL, 10, 50, &cells, &capacity);
    CHECK_CELL(cells, count, "A", 1, 0, 6);
    CHECK_CELL(cells, count, "A1", 2, 0, 3);
    CHECK_CELL(cells, count, "A2", 2, 3, 3);
    CHECK_CELL(cells, count, "B", 1, 6, 3);

    /* Rows limit. */
    count = flame_layout(tree, NULL, 100, 2, &cells, &capacity);
    CHECK_INT(count, 4);
    CHECK(cell_of(cells, count, "A1") == NULL);

    /* Zoom on A: A is row 0 and spans the width. */
    const struct flame_node *a = node_at(tree, "A");
    count = flame_layout(tree, a, 60, 50, &cells, &capacity);
    CHECK_INT(count, 4);
    CHECK_CELL(cells, count, "A", 0, 0, 60);
    CHECK_CELL(cells, count, "A1", 1, 0, 30);
    CHECK_CELL(cells, count, "A2", 1, 30, 30);
    CHECK_CELL(cells, count, "A2a", 2, 30, 1);
    CHECK(cell_of(cells, count, "B") == NULL);

    CHECK_INT(flame_layout(tree, NULL, 0, 50, &cells, &capacity), 0);
    CHECK_INT(flame_layout(tree, NULL, 80, 0, &cells, &capacity), 0);
    free(cells);
    flame_tree_free(tree);

    /* An empty tree: only the root. */
    tree = flame_tree_new();
    cells = NULL;
    capacity = 0;
    CHECK_INT(flame_layout(tree, NULL, 80, 24, &cells, &capacity), 1);
    CHECK_INT(cells[0].width, 80);
    free(cells);
    flame_tree_free(tree);
}

static uint64_t random_state = 0x9e3779b97f4a7c15ULL; /* fixed seed */

static uint64_t random_next(void)
{
    random_state ^= random_state << 13;
    random_state ^= random_state >> 7;
    random_state ^= random_state << 17;
    return random_state;
}

/* Layout properties on a random tree at several widths: proportional within one column,
 * children inside their parent, pruned exactly when narrower than one column. */
static void test_layout_properties(void)
{
    struct flame_tree *tree = flame_tree_new();
    for (int s = 0; s < 300; s++) {
        char path[256] = "";
        int depth = 1 + (int)(random_next() % 8);
        for (int d = 0; d < depth; d++) {
            char part[16];
            snprintf(part, sizeof part, "%sf%d", d ? ";" : "", (int)(random_next() % 5));
            strcat(path, part);
        }
        add_path(tree, path, 1 + random_next() % (s % 10 == 0 ? 5000 : 20));
    }
    uint64_t root_total = flame_tree_root(tree)->total;
    struct flame_cell *cells = NULL;
    size_t capacity = 0;
    static const int widths[] = {1, 7, 40, 80, 133, 200, 1000};
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        int width = widths[w];
        size_t count = flame_layout(tree, NULL, width, 100, &cells, &capacity);
        bool ok_width = true, ok_inside = true, ok_sum = true;
        for (size_t i = 0; i < count; i++) {
            const struct flame_cell *cell = &cells[i];
            double exact = (double)cell->node->total * width / (double)root_total;
            if (cell->width < 1 || cell->width > exact + 1 || cell->width < exact - 1)
                ok_width = false;
            int children_width = 0;
            for (size_t j = 0; j < count; j++) {
                const struct flame_cell *other = &cells[j];
                if (other->node->parent != cell->node)
                    continue;
                children_width += other->width;
                if (other->row != cell->row + 1 || other->x < cell->x ||
                    other->x + other->width > cell->x + cell->width)
                    ok_inside = false;
            }
            if (children_width > cell->width)
                ok_sum = false;
        }
        CHECK(ok_width);
        CHECK(ok_inside);
        CHECK(ok_sum);
        /* Every node at least one column wide (with a shown parent) is shown. */
        size_t wide_nodes = 0;
        const struct flame_node *stack[4096];
        size_t top = 0;
        stack[top++] = flame_tree_root(tree);
        while (top > 0) {
            const struct flame_node *node = stack[--top];
            wide_nodes++;
            for (size_t i = 0; i < node->child_count; i++)
                if ((double)node->children[i]->total * width >= (double)root_total)
                    stack[top++] = node->children[i];
        }
        CHECK_INT(count, wide_nodes);
    }
    free(cells);
    flame_tree_free(tree);
}

/* ---------------------------------------------------------------------------------------- */
/* Search, hot functions, pruning                                                            */

static void test_match_total(void)
{
    struct flame_tree *tree = flame_tree_new();
    add_path(tree, "main;lock_outer;work;lock_inner", 5); /* nested matches: counted once */
    add_path(tree, "main;lock_outer", 2);
    add_path(tree, "main;other;lock_x", 3);
    add_path(tree, "idle", 7);
    CHECK_INT(flame_match_total(tree, "lock"), 10);
    CHECK_INT(flame_match_total(tree, "lock_inner"), 5);
    CHECK_INT(flame_match_total(tree, "main"), 10);
    CHECK_INT(flame_match_total(tree, "i"), 17);  /* main and idle */
    CHECK_INT(flame_match_total(tree, "all"), 0); /* the root is not a frame */
    CHECK_INT(flame_match_total(tree, "nothing"), 0);
    CHECK_INT(flame_match_total(tree, "Lock"), 0); /* case-sensitive */
    flame_tree_free(tree);
}

static const struct flame_hot_function *hot_named(const struct flame_hot_function *hot,
                                                  size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(hot[i].name, name) == 0)
            return &hot[i];
    return NULL;
}

static void test_hot_functions_recursion(void)
{
    struct flame_tree *tree = flame_tree_new();
    add_path(tree, "a;b;a", 4);
    add_path(tree, "a;b;a;b;a", 1);
    add_path(tree, "a", 1);
    add_path(tree, "b", 2);
    add_path(tree, "c;a", 3);
    struct flame_hot_function *hot = NULL;
    size_t count = flame_hot_functions(tree, &hot);
    CHECK_INT(count, 3);
    const struct flame_hot_function *a = hot_named(hot, count, "a");
    const struct flame_hot_function *b = hot_named(hot, count, "b");
    const struct flame_hot_function *c = hot_named(hot, count, "c");
    CHECK(a && b && c);
    if (a && b && c) {
        CHECK_INT(a->self, 4 + 1 + 1 + 3);
        CHECK_INT(a->total, 4 + 1 + 1 + 3); /* a->b->a counts once */
        CHECK_INT(b->self, 2);
        CHECK_INT(b->total, 4 + 1 + 2);
        CHECK_INT(c->self, 0);
        CHECK_INT(c->total, 3);
    }
    CHECK_STR(hot[0].name, "a"); /* sorted by self */
    CHECK_STR(hot[1].name, "b");
    free(hot);
    flame_tree_free(tree);

    tree = flame_tree_new();
    CHECK_INT(flame_hot_functions(tree, &hot), 0);
    free(hot);
    flame_tree_free(tree);
}

static void test_prune(void)
{
    struct flame_tree *tree = layout_tree();
    size_t before = flame_tree_node_count(tree);
    flame_tree_prune(tree, 0.02);
    CHECK_INT(flame_tree_node_count(tree), before - 2); /* A2a and C */
    CHECK(node_at(tree, "A;A2;A2a") == NULL);
    CHECK(node_at(tree, "C") == NULL);
    CHECK_INT(total_at(tree, "A;A2"), 30); /* pruned samples stay in the parent's total */
    CHECK_INT(flame_tree_root(tree)->total, 100);
    const struct flame_node *root = flame_tree_root(tree);
    CHECK_STR(root->children[0]->name, "A");
    CHECK_STR(root->children[1]->name, "B");
    flame_tree_prune(tree, 0.5);
    CHECK_INT(flame_tree_node_count(tree), 2); /* the root and A */
    flame_tree_free(tree);
}

/* ---------------------------------------------------------------------------------------- */
/* Folded text                                                                               */

static void test_folded_write(void)
{
    struct flame_tree *tree = flame_tree_new();
    add_path(tree, "main;b", 3);
    add_path(tree, "main", 2); /* self > 0 with children: its own line */
    add_path(tree, "main b", 1);
    add_path(tree, "main;a;x", 4);
    char *text = folded_text(tree);
    CHECK_STR(text, "main 2\nmain b 1\nmain;a;x 4\nmain;b 3\n");
    free(text);
    flame_tree_free(tree);
}

static void test_folded_round_trip_tricky(void)
{
    struct flame_tree *tree = flame_tree_new();
    const char *stack1[] = {"main", "std::vector<int>::push_back(int const&)", "name with spaces"};
    const char *stack2[] = {"main", "ünïcödé 函数", "ends with space ", "12"};
    const char *stack3[] = {"main", "operator()(a, b) [clone .isra.0]", "\"quoted\" \\back"};
    const char *stack4[] = {"  leading", "x"};
    flame_tree_add_names(tree, stack1, 3, 5);
    flame_tree_add_names(tree, stack2, 4, 7);
    flame_tree_add_names(tree, stack3, 3, 1);
    flame_tree_add_names(tree, stack4, 2, 9);
    flame_tree_add_names(tree, stack1, 2, 2);
    char *text = folded_text(tree);
    struct flame_tree *back = parse_folded(text);
    CHECK(back != NULL);
    if (back) {
        CHECK(nodes_equal(flame_tree_root(tree), flame_tree_root(back)));
        char *again = folded_text(back);
        CHECK_STR(again, text);
        free(again);
        flame_tree_free(back);
    }
    free(text);
    flame_tree_free(tree);

    /* ';' and '\n' become ':' and ' '; other controls '?': documented replacements. */
    tree = flame_tree_new();
    const char *tricky[] = {"main", "a;b", "line\nbreak", "tab\there\x1b[31m\x7f"};
    flame_tree_add_names(tree, tricky, 4, 3);
    text = folded_text(tree);
    CHECK_STR(text, "main;a:b;line break;tab?here?[31m? 3\n");
    back = parse_folded(text);
    CHECK(back != NULL);
    if (back) {
        CHECK_INT(self_at(back, "main;a:b;line break;tab?here?[31m?"), 3);
        char *again = folded_text(back);
        CHECK_STR(again, text);
        free(again);
        flame_tree_free(back);
    }
    free(text);
    flame_tree_free(tree);
}

static void test_folded_round_trip_random(void)
{
    static const char *const pieces[] = {"f",  "g", " ", "x y", "é", "函", "::", "(int)",
                                         "0x", "[", "]", "+",   "1", "~",  "\"", "\\"};
    random_state = 12345; /* fixed seed */
    for (int round = 0; round < 40; round++) {
        struct flame_tree *tree = flame_tree_new();
        int stacks = 1 + (int)(random_next() % 60);
        for (int s = 0; s < stacks; s++) {
            char storage[12][64];
            const char *names[12];
            int depth = 1 + (int)(random_next() % 12);
            for (int d = 0; d < depth; d++) {
                storage[d][0] = '\0';
                int parts = 1 + (int)(random_next() % 3);
                for (int p = 0; p < parts; p++)
                    strcat(storage[d], pieces[random_next() % (sizeof pieces / sizeof *pieces)]);
                names[d] = storage[d];
            }
            flame_tree_add_names(tree, names, (size_t)depth, 1 + random_next() % 1000);
        }
        char *text = folded_text(tree);
        struct flame_tree *back = parse_folded(text);
        CHECK(back != NULL);
        if (back) {
            CHECK(nodes_equal(flame_tree_root(tree), flame_tree_root(back)));
            CHECK(node_consistent(flame_tree_root(back)));
            flame_tree_free(back);
        }
        free(text);
        flame_tree_free(tree);
    }
}

static void test_folded_parse(void)
{
    struct flame_tree *tree = flame_tree_new();
    char err[256] = "";
    const char *good = "foo bar;baz qux 7\r\nfoo bar 2\nsolo\t3\nfoo bar;baz qux 1";
    CHECK_INT(flame_tree_add_folded(tree, good, strlen(good), err, sizeof err), 4);
    CHECK_INT(total_at(tree, "foo bar"), 10);
    CHECK_INT(self_at(tree, "foo bar;baz qux"), 8);
    CHECK_INT(self_at(tree, "solo"), 3);
    CHECK_INT(flame_tree_root(tree)->total, 13);

    /* Errors name the line and leave the tree untouched. */
    static const struct {
        const char *text;    /* folded input */
        const char *message; /* expected in err */
    } bad[] = {
        {"a;b 12\n\nc 3\n", "line 2: blank"},
        {"a;b 1\nc;d\n", "line 2: no count"},
        {"a b\n", "line 1: the count \"b\" is not a whole number"},
        {"a 1.5\n", "line 1: the count"},
        {"a 99999999999999999999999\n", "line 1: the count is too large"},
        {"a 1\nb 2\n   \n", "line 3: blank"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        CHECK_INT(flame_tree_add_folded(tree, bad[i].text, strlen(bad[i].text), err, sizeof err),
                  -1);
        if (!strstr(err, bad[i].message))
            fprintf(stderr, "error was \"%s\", expected \"%s\"\n", err, bad[i].message);
        CHECK(strstr(err, bad[i].message) != NULL);
    }
    CHECK_INT(flame_tree_root(tree)->total, 13);
    CHECK(node_at(tree, "c") == NULL);

    /* Not NUL-terminated: only length bytes are read. */
    const char buffer[] = {'z', ' ', '5', 'X'};
    CHECK_INT(flame_tree_add_folded(tree, buffer, 3, err, sizeof err), 1);
    CHECK_INT(self_at(tree, "z"), 5);
    CHECK_INT(flame_tree_add_folded(tree, "", 0, err, sizeof err), 0);
    flame_tree_free(tree);
}

/* ---------------------------------------------------------------------------------------- */
/* Reports                                                                                   */

static void test_json(void)
{
    struct flame_tree *tree = flame_tree_new();
    struct capture_frame stack[] = {
        {.pc = 1, .function = "evil\"quote\\slash\x1b[2J\ttab", .module = "/bin/x"},
        {.pc = 2, .function = "main", .module = "/bin/x"},
    };
    flame_tree_add_frames(tree, stack, 2, 3);
    const char *names[] = {"main", "ünïcödé", "\xff\xfe invalid utf8"};
    flame_tree_add_names(tree, names, 3, 2);
    char path[] = "/tmp/test_flame_json.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *out = fdopen(fd, "w");
    flame_tree_print_json(tree, out);
    fclose(out);
    char command[256];
    snprintf(command, sizeof command,
             "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
             "assert d[\"name\"]==\"all\" and d[\"total\"]==5 and "
             "d[\"children\"][0][\"total\"]==5' %s",
             path);
    CHECK_INT(system(command), 0);
    FILE *in = fopen(path, "r");
    char content[4096] = "";
    size_t length = in ? fread(content, 1, sizeof content - 1, in) : 0;
    content[length] = '\0';
    if (in)
        fclose(in);
    CHECK(strchr(content, '\x1b') == NULL);
    CHECK(strstr(content, "\"module\": null") != NULL);
    unlink(path);
    flame_tree_free(tree);
}

static void test_text_report(void)
{
    struct flame_tree *tree = layout_tree();
    char *text = text_report(tree, 0.02);
    CHECK(strstr(text, "100.00%") != NULL);
    CHECK(strstr(text, "  60.00%    0.00%    A\n") != NULL);
    CHECK(strstr(text, "  30.00%   29.00%      A2\n") != NULL);
    CHECK(strstr(text, "A2a") == NULL || strstr(text, "hottest") < strstr(text, "A2a"));
    CHECK(strstr(text, "hottest functions") != NULL);
    CHECK(strstr(text, "  39.00%   39.00%  B\n") != NULL);
    free(text);
    flame_tree_free(tree);

    tree = flame_tree_new();
    add_path(tree, "main;evil\x1b[31m\xe2\x80\xaeright-to-left", 1);
    text = text_report(tree, 0);
    CHECK(strchr(text, '\x1b') == NULL);
    CHECK(strstr(text, "\xe2\x80\xae") == NULL);
    CHECK(strstr(text, "100.00%  100.00%") != NULL);
    free(text);
    flame_tree_free(tree);
}

/* ---------------------------------------------------------------------------------------- */
/* Speed: 1,000,000 samples over 50 stacks of depth ~30                                      */

/* Loose bounds (shared CI machines, sanitizers are several times slower); the benchmark
 * bench/flame_bench.sh measures against the real target. */
#if defined(__SANITIZE_ADDRESS__)
#define BUILD_SECONDS_LIMIT 10.0
#else
#define BUILD_SECONDS_LIMIT 2.0
#endif

static void test_build_speed(void)
{
    enum { STACKS = 50, DEPTH = 30, SAMPLES = 1000000 };
    static struct capture_frame frames[STACKS][DEPTH];
    static char names[200][32];
    for (int i = 0; i < 200; i++)
        snprintf(names[i], sizeof names[i], "function_number_%d", i);
    random_state = 777;
    for (int s = 0; s < STACKS; s++)
        for (int d = 0; d < DEPTH; d++)
            frames[s][d] = (struct capture_frame){.pc = 0x1000 + (uint64_t)d,
                                                  .function = names[random_next() % 200],
                                                  .module = "/usr/bin/server"};
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct flame_tree *tree = flame_tree_new();
    for (int i = 0; i < SAMPLES; i++)
        flame_tree_add_frames(tree, frames[random_next() % STACKS], DEPTH, 1);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    printf("1,000,000 samples built in %.3f s (%zu nodes)\n", seconds, flame_tree_node_count(tree));
    CHECK_INT(flame_tree_root(tree)->total, SAMPLES);
    CHECK(node_consistent(flame_tree_root(tree)));
    CHECK(seconds < BUILD_SECONDS_LIMIT);
    flame_tree_free(tree);
}

int main(void)
{
    test_add_frames();
    test_names_sorted_merged_interned();
    test_depth_limit();
    test_layout_known_tree();
    test_layout_properties();
    test_match_total();
    test_hot_functions_recursion();
    test_prune();
    test_folded_write();
    test_folded_round_trip_tricky();
    test_folded_round_trip_random();
    test_folded_parse();
    test_json();
    test_text_report();
    test_build_speed();
    return CHECK_DONE();
}

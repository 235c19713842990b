/*
 * flame: the flame tree (flame.h). It owns:
 *   - the nodes: a root "all" (depth 0) and one node per distinct calling context, each
 *     allocated on its own and freed with its subtree;
 *   - the interned strings: every node name and module points into one hash set, so equal
 *     labels share one copy and the tree frees them all at once;
 *   - the text forms: folded stacks in and out, the top-down text report and the JSON tree.
 *
 * Invariants:
 *   - node->total == node->self + the sum of its children's totals, except after
 *     flame_tree_prune, where the dropped children's samples stay in the parent's total;
 *   - children are sorted by name (strcmp order) and names are unique among siblings; the
 *     lookup of a child is a binary search, the insertion keeps the order (memmove);
 *   - depth <= FLAME_MAX_DEPTH, which bounds every recursive walk here;
 *   - folded output never holds ';' or a line break inside a frame name, nor any C0 control or
 *     DEL: ';' becomes ':', '\n' becomes ' ', other controls become '?'. Everything else is
 *     written as stored, so parse(write(tree)) rebuilds the same tree when names hold none of
 *     those bytes (the empty stack, samples on the root itself, is not written);
 *   - the text report and the JSON sanitize every target string (sanitize.h); folded does not,
 *     beyond the replacements above, so that it round-trips.
 */
#include "flame.h"

#include <inttypes.h>
#include <langinfo.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"
#include "xalloc.h"

/* ---------------------------------------------------------------------------------------- */
/* Interned strings                                                                          */

/* One slot of the string set (open addressing, linear probing). */
struct intern_slot {
    char *text;    /* the owned string; NULL for an empty slot */
    uint64_t hash; /* its hash, kept so that growing does not rehash the text */
};

/* The set of every string the tree points to. */
struct intern_set {
    struct intern_slot *slots; /* capacity slots, a power of two */
    size_t capacity;           /* slot count */
    size_t used;               /* occupied slots (kept below half the capacity) */
};

/* A node with its private lookup index. The public part comes first, so that a
 * struct flame_node pointer of this tree converts back to its node_private. */
struct node_private {
    struct flame_node node;            /* the public node */
    uint64_t name_hash;                /* hash_string(node.name) */
    struct node_private *last_hit;     /* child returned by the previous lookup (samples often
                                          repeat a path): checked first; NULL after pruning */
    struct node_private **child_index; /* open-addressing index of the children by name_hash
                                          (power-of-two slots, at most half full) once there are
                                          more than CHILD_INDEX_MIN children; NULL before */
    size_t child_index_capacity;       /* slots in child_index */
};

/* The tree: the root node and the string set its nodes point into. */
struct flame_tree {
    struct node_private root; /* "all": total = every sample added */
    struct intern_set names;  /* every name and module string of the nodes */
    size_t node_count;        /* nodes, the root included */
};

/* A fast string hash: eight bytes per multiply (labels share long prefixes, so every byte
 * counts). A collision only costs a strcmp. */
static uint64_t hash_string(const char *text)
{
    size_t length = strlen(text);
    uint64_t hash = 0x9e3779b97f4a7c15ULL ^ length;
    const char *p = text;
    for (; length >= 8; length -= 8, p += 8) {
        uint64_t chunk;
        memcpy(&chunk, p, 8);
        hash = (hash ^ chunk) * 0xff51afd7ed558ccdULL;
        hash ^= hash >> 32;
    }
    uint64_t tail = 0;
    memcpy(&tail, p, length);
    hash = (hash ^ tail) * 0xc4ceb9fe1a85ec53ULL;
    hash ^= hash >> 29;
    return hash;
}

/* Index of the slot holding text, or of the empty slot where it would go. */
static size_t intern_probe(const struct intern_set *set, const char *text, uint64_t hash)
{
    size_t mask = set->capacity - 1;
    size_t index = (size_t)hash & mask;
    while (set->slots[index].text) {
        if (set->slots[index].hash == hash && strcmp(set->slots[index].text, text) == 0)
            return index;
        index = (index + 1) & mask;
    }
    return index;
}

static void intern_grow(struct intern_set *set)
{
    struct intern_slot *old = set->slots;
    size_t old_capacity = set->capacity;
    set->capacity = old_capacity ? old_capacity * 2 : 256;
    set->slots = xcalloc(set->capacity, sizeof *set->slots);
    for (size_t i = 0; i < old_capacity; i++) {
        if (!old[i].text)
            continue;
        size_t index = (size_t)old[i].hash & (set->capacity - 1);
        while (set->slots[index].text)
            index = (index + 1) & (set->capacity - 1);
        set->slots[index] = old[i];
    }
    free(old);
}

/* The shared copy of text, made on first use. */
static const char *intern(struct intern_set *set, const char *text)
{
    if ((set->used + 1) * 2 > set->capacity)
        intern_grow(set);
    uint64_t hash = hash_string(text);
    size_t index = intern_probe(set, text, hash);
    if (!set->slots[index].text) {
        set->slots[index].text = xstrdup(text);
        set->slots[index].hash = hash;
        set->used++;
    }
    return set->slots[index].text;
}

/* Slot index of an interned string (it must be in the set): a dense id for per-name tables. */
static size_t intern_slot_of(const struct intern_set *set, const char *interned)
{
    return intern_probe(set, interned, hash_string(interned));
}

static void intern_free(struct intern_set *set)
{
    for (size_t i = 0; i < set->capacity; i++)
        free(set->slots[i].text);
    free(set->slots);
    memset(set, 0, sizeof *set);
}

/* ---------------------------------------------------------------------------------------- */
/* Nodes                                                                                     */

static struct node_private *private_of(struct flame_node *node)
{
    return (struct node_private *)node; /* node is the first member */
}

static void node_free_subtree(struct flame_tree *tree, struct flame_node *node)
{
    for (size_t i = 0; i < node->child_count; i++) {
        node_free_subtree(tree, node->children[i]);
        free(node->children[i]);
        tree->node_count--;
    }
    free(node->children);
    node->children = NULL;
    node->child_count = node->child_capacity = 0;
    struct node_private *private = private_of(node);
    free(private->child_index);
    private->child_index = NULL;
    private->child_index_capacity = 0;
    private->last_hit = NULL;
}

/* Puts child into parent's index (which has a free slot). */
static void child_index_put(struct node_private *parent, struct node_private *child)
{
    size_t mask = parent->child_index_capacity - 1;
    size_t slot = (size_t)child->name_hash & mask;
    while (parent->child_index[slot])
        slot = (slot + 1) & mask;
    parent->child_index[slot] = child;
}

/* Rebuilds parent's index from its children, sized for child_count + 1 (insertions, pruning). */
static void child_index_rebuild(struct node_private *parent)
{
    size_t capacity = 4;
    while (capacity < 2 * (parent->node.child_count + 1))
        capacity *= 2;
    free(parent->child_index);
    parent->child_index = xcalloc(capacity, sizeof *parent->child_index);
    parent->child_index_capacity = capacity;
    for (size_t i = 0; i < parent->node.child_count; i++)
        child_index_put(parent, private_of(parent->node.children[i]));
}

/* Below this many children a binary search over the sorted children is as fast as hashing. */
#define CHILD_INDEX_MIN 16

/* The child of parent named label, created (in name order) if missing. module is only used
 * for a new node. Lookup: the previous hit, then a hash probe on wide nodes or a binary search
 * on narrow ones; a hit costs one strcmp of equal strings in the common cases. */
static struct flame_node *child_for(struct flame_tree *tree, struct flame_node *parent_node,
                                    const char *label, const char *module)
{
    struct node_private *parent = private_of(parent_node);
    if (parent->last_hit && strcmp(parent->last_hit->node.name, label) == 0)
        return &parent->last_hit->node;
    uint64_t hash = 0; /* of label, once computed (wide nodes, or a new node) */
    size_t low = 0, high = parent_node->child_count;
    if (parent->child_index) {
        hash = hash_string(label);
        size_t mask = parent->child_index_capacity - 1;
        for (size_t slot = (size_t)hash & mask; parent->child_index[slot];
             slot = (slot + 1) & mask) {
            struct node_private *candidate = parent->child_index[slot];
            if (candidate->name_hash == hash && strcmp(candidate->node.name, label) == 0) {
                parent->last_hit = candidate;
                return &candidate->node;
            }
        }
    }
    /* Binary search: finds the child on narrow nodes, and the insertion point in any case. */
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        int order = strcmp(label, parent_node->children[mid]->name);
        if (order == 0) {
            parent->last_hit = private_of(parent_node->children[mid]);
            return parent_node->children[mid];
        }
        if (order > 0)
            low = mid + 1;
        else
            high = mid;
    }
    struct node_private *child = xcalloc(1, sizeof *child);
    child->node.name = intern(&tree->names, label);
    child->node.module = module ? intern(&tree->names, module) : NULL;
    child->node.parent = parent_node;
    child->node.depth = parent_node->depth + 1;
    child->name_hash = parent->child_index ? hash : hash_string(label);
    xgrow((void **)&parent_node->children, &parent_node->child_capacity,
          parent_node->child_count + 1, sizeof *parent_node->children);
    memmove(&parent_node->children[low + 1], &parent_node->children[low],
            (parent_node->child_count - low) * sizeof *parent_node->children);
    parent_node->children[low] = &child->node;
    parent_node->child_count++;
    if (parent_node->child_count > CHILD_INDEX_MIN) {
        if (2 * (parent_node->child_count + 1) > parent->child_index_capacity)
            child_index_rebuild(parent);
        else
            child_index_put(parent, child);
    }
    parent->last_hit = child;
    tree->node_count++;
    return &child->node;
}

struct flame_tree *flame_tree_new(void)
{
    struct flame_tree *tree = xcalloc(1, sizeof *tree);
    tree->root.node.name = intern(&tree->names, "all");
    tree->root.name_hash = hash_string("all");
    tree->node_count = 1;
    return tree;
}

void flame_tree_free(struct flame_tree *tree)
{
    if (!tree)
        return;
    node_free_subtree(tree, &tree->root.node);
    intern_free(&tree->names);
    free(tree);
}

const struct flame_node *flame_tree_root(const struct flame_tree *tree)
{
    return &tree->root.node;
}

size_t flame_tree_node_count(const struct flame_tree *tree)
{
    return tree->node_count;
}

static const char *path_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Writes "0x" and value in lower-case hex at out; returns the end. */
static char *put_hex(char *out, uint64_t value)
{
    char digits[16];
    int count = 0;
    do {
        digits[count++] = "0123456789abcdef"[value & 0xf];
        value >>= 4;
    } while (value);
    *out++ = '0';
    *out++ = 'x';
    while (count > 0)
        *out++ = digits[--count];
    return out;
}

/* Label of a frame: its function; else "module_basename+0xoffset"; else "0xPC". Formatted by
 * hand: stripped frames are common in profiles and snprintf showed in the benchmark. */
static const char *frame_label(const struct capture_frame *frame, char *buffer, size_t size)
{
    if (frame->function)
        return frame->function;
    char *out = buffer;
    if (frame->module) {
        const char *base = path_basename(frame->module);
        size_t length = strlen(base);
        if (length > size - 20) /* room for "+0x" and 16 digits and the NUL */
            length = size - 20;
        memcpy(out, base, length);
        out += length;
        *out++ = '+';
        out = put_hex(out, frame->module_offset);
    } else {
        out = put_hex(out, frame->pc);
    }
    *out = '\0';
    return buffer;
}

void flame_tree_add_frames(struct flame_tree *tree, const struct capture_frame *frames,
                           size_t frame_count, uint64_t count)
{
    char buffer[512];
    struct flame_node *node = &tree->root.node;
    node->total += count;
    size_t kept = frame_count < FLAME_MAX_DEPTH ? frame_count : FLAME_MAX_DEPTH;
    for (size_t k = 0; k < kept; k++) {
        const struct capture_frame *frame = &frames[frame_count - 1 - k]; /* outermost first */
        node = child_for(tree, node, frame_label(frame, buffer, sizeof buffer), frame->module);
        node->total += count;
    }
    node->self += count;
}

void flame_tree_add_names(struct flame_tree *tree, const char *const *names, size_t count_names,
                          uint64_t count)
{
    struct flame_node *node = &tree->root.node;
    node->total += count;
    size_t kept = count_names < FLAME_MAX_DEPTH ? count_names : FLAME_MAX_DEPTH;
    for (size_t k = 0; k < kept; k++) {
        node = child_for(tree, node, names[k] ? names[k] : "", NULL);
        node->total += count;
    }
    node->self += count;
}

/* ---------------------------------------------------------------------------------------- */
/* Folded text in                                                                            */

/* One parsed line of folded text: where its frames are, and its count. */
struct folded_line {
    const char *frames; /* start of "a;b;c" */
    size_t length;      /* its length */
    uint64_t count;     /* the trailing count */
};

/* Parses line [start, start+length) (no '\n'). Returns 0, or -1 with err. */
static int parse_folded_line(const char *start, size_t length, long line_number,
                             struct folded_line *out, char *err, size_t errlen)
{
    if (memchr(start, '\0', length)) {
        snprintf(err, errlen, "line %ld: NUL byte in the line", line_number);
        return -1;
    }
    while (length > 0 &&
           (start[length - 1] == '\r' || start[length - 1] == ' ' || start[length - 1] == '\t'))
        length--;
    if (length == 0) {
        snprintf(err, errlen, "line %ld: blank line (expected \"frame;frame;... COUNT\")",
                 line_number);
        return -1;
    }
    size_t separator = length;
    while (separator > 0 && start[separator - 1] != ' ' && start[separator - 1] != '\t')
        separator--;
    if (separator == 0) {
        snprintf(err, errlen, "line %ld: no count (expected \"frame;frame;... COUNT\")",
                 line_number);
        return -1;
    }
    uint64_t count = 0;
    for (size_t i = separator; i < length; i++) {
        unsigned digit = (unsigned)(unsigned char)start[i] - '0';
        if (digit > 9) {
            snprintf(err, errlen, "line %ld: the count \"%.*s\" is not a whole number", line_number,
                     (int)(length - separator > 40 ? 40 : length - separator), start + separator);
            return -1;
        }
        if (count > (UINT64_MAX - digit) / 10) {
            snprintf(err, errlen, "line %ld: the count is too large", line_number);
            return -1;
        }
        count = count * 10 + digit;
    }
    /* The frames end before the last blank; " 12" is one frame named "" (as written). */
    size_t frames_length = separator - 1;
    size_t depth = 1;
    for (size_t i = 0; i < frames_length; i++)
        depth += start[i] == ';';
    if (depth > FLAME_MAX_DEPTH) {
        snprintf(err, errlen, "line %ld: %zu frames, more than the %d kept", line_number, depth,
                 FLAME_MAX_DEPTH);
        return -1;
    }
    out->frames = start;
    out->length = frames_length;
    out->count = count;
    return 0;
}

/* Adds one validated line: frames split at ';'. */
static void add_folded_line(struct flame_tree *tree, const struct folded_line *line, char **scratch,
                            size_t *scratch_capacity)
{
    xgrow((void **)scratch, scratch_capacity, line->length + 1, 1);
    struct flame_node *node = &tree->root.node;
    node->total += line->count;
    const char *frame = line->frames, *end = line->frames + line->length;
    while (frame <= end) {
        const char *semicolon = memchr(frame, ';', (size_t)(end - frame));
        const char *frame_end = semicolon ? semicolon : end;
        size_t frame_length = (size_t)(frame_end - frame);
        memcpy(*scratch, frame, frame_length);
        (*scratch)[frame_length] = '\0';
        node = child_for(tree, node, *scratch, NULL);
        node->total += line->count;
        frame = frame_end + 1;
    }
    node->self += line->count;
}

long flame_tree_add_folded(struct flame_tree *tree, const char *text, size_t length, char *err,
                           size_t errlen)
{
    /* Two passes, so that a bad line leaves the tree untouched. */
    for (int pass = 0; pass < 2; pass++) {
        char *scratch = NULL;
        size_t scratch_capacity = 0;
        long line_number = 0;
        size_t position = 0;
        while (position < length) {
            const char *start = text + position;
            const char *newline = memchr(start, '\n', length - position);
            size_t line_length = newline ? (size_t)(newline - start) : length - position;
            position += line_length + (newline ? 1 : 0);
            line_number++;
            struct folded_line line;
            if (pass == 0) {
                if (parse_folded_line(start, line_length, line_number, &line, err, errlen) < 0)
                    return -1;
            } else {
                parse_folded_line(start, line_length, line_number, &line, err, errlen);
                add_folded_line(tree, &line, &scratch, &scratch_capacity);
            }
        }
        free(scratch);
        if (pass == 1)
            return line_number;
    }
    return -1; /* not reached */
}

/* ---------------------------------------------------------------------------------------- */
/* Folded text out                                                                           */

/* A growable byte string. */
struct text_buffer {
    char *data;      /* bytes, NUL-terminated when length > 0 */
    size_t length;   /* bytes used */
    size_t capacity; /* bytes allocated */
};

/* Appends a frame name the folded way: ';' -> ':', '\n' -> ' ', other C0 and DEL -> '?'. */
static void append_folded_name(struct text_buffer *buffer, const char *name)
{
    size_t name_length = strlen(name);
    xgrow((void **)&buffer->data, &buffer->capacity, buffer->length + name_length + 1, 1);
    for (size_t i = 0; i < name_length; i++) {
        unsigned char byte = (unsigned char)name[i];
        char out = (char)byte;
        if (byte == ';')
            out = ':';
        else if (byte == '\n')
            out = ' ';
        else if (byte < 0x20 || byte == 0x7f)
            out = '?';
        buffer->data[buffer->length++] = out;
    }
    buffer->data[buffer->length] = '\0';
}

/* Every folded line collected before sorting. */
struct folded_lines {
    char **lines;    /* heap strings "a;b;c N" */
    size_t count;    /* entries in lines */
    size_t capacity; /* allocated entries */
};

static void collect_folded(const struct flame_node *node, struct text_buffer *path,
                           struct folded_lines *lines)
{
    size_t path_length = path->length;
    if (node->depth > 0) {
        if (node->depth > 1) {
            xgrow((void **)&path->data, &path->capacity, path->length + 2, 1);
            path->data[path->length++] = ';';
        }
        append_folded_name(path, node->name);
        if (node->self > 0) {
            xgrow((void **)&lines->lines, &lines->capacity, lines->count + 1, sizeof *lines->lines);
            lines->lines[lines->count++] = xasprintf("%s %" PRIu64, path->data, node->self);
        }
    }
    for (size_t i = 0; i < node->child_count; i++)
        collect_folded(node->children[i], path, lines);
    path->length = path_length;
    if (path->data)
        path->data[path_length] = '\0';
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void flame_tree_write_folded(const struct flame_tree *tree, FILE *out)
{
    struct text_buffer path = {0};
    struct folded_lines lines = {0};
    collect_folded(&tree->root.node, &path, &lines);
    qsort(lines.lines, lines.count, sizeof *lines.lines, compare_strings);
    for (size_t i = 0; i < lines.count; i++) {
        fputs(lines.lines[i], out);
        fputc('\n', out);
        free(lines.lines[i]);
    }
    free(lines.lines);
    free(path.data);
}

/* ---------------------------------------------------------------------------------------- */
/* Layout                                                                                    */

/* What one layout pass writes into and scales by. */
struct layout_pass {
    struct flame_cell **cells; /* the caller's buffer */
    size_t *capacity;          /* its allocated cells */
    size_t count;              /* cells written */
    int width;                 /* columns of the zoom root */
    int max_rows;              /* rows available */
    uint64_t zoom_total;       /* samples of the zoom root: width columns */
};

/* Column of a sample offset inside the zoom root. */
static int layout_column(const struct layout_pass *pass, uint64_t offset)
{
    return (int)((unsigned __int128)offset * (unsigned)pass->width / pass->zoom_total);
}

/* Lays out node, whose left edge is offset samples into the zoom root, at row; its children
 * start at its left edge, in name order. */
static void layout_node(struct layout_pass *pass, const struct flame_node *node, int row,
                        uint64_t offset)
{
    int x = layout_column(pass, offset);
    int width = layout_column(pass, offset + node->total) - x;
    xgrow((void **)pass->cells, pass->capacity, pass->count + 1, sizeof **pass->cells);
    (*pass->cells)[pass->count++] =
        (struct flame_cell){.node = node, .row = row, .x = x, .width = width};
    if (row + 1 >= pass->max_rows)
        return;
    uint64_t child_offset = offset;
    for (size_t i = 0; i < node->child_count; i++) {
        const struct flame_node *child = node->children[i];
        /* At least one column wide, exactly: total * width >= zoom_total. */
        if ((unsigned __int128)child->total * (unsigned)pass->width >= pass->zoom_total)
            layout_node(pass, child, row + 1, child_offset);
        child_offset += child->total;
    }
}

size_t flame_layout(const struct flame_tree *tree, const struct flame_node *zoom, int width,
                    int max_rows, struct flame_cell **cells, size_t *capacity)
{
    if (!zoom)
        zoom = &tree->root.node;
    if (width <= 0 || max_rows <= 0)
        return 0;
    struct layout_pass pass = {.cells = cells,
                               .capacity = capacity,
                               .width = width,
                               .max_rows = max_rows,
                               .zoom_total = zoom->total};
    if (zoom->total == 0) {
        xgrow((void **)cells, capacity, 1, sizeof **cells);
        (*cells)[0] = (struct flame_cell){.node = zoom, .row = 0, .x = 0, .width = width};
        return 1;
    }
    layout_node(&pass, zoom, 0, 0);
    return pass.count;
}

/* ---------------------------------------------------------------------------------------- */
/* Search                                                                                    */

static uint64_t match_total_below(const struct flame_node *node, const char *needle)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < node->child_count; i++) {
        const struct flame_node *child = node->children[i];
        if (strstr(child->name, needle))
            sum += child->total; /* its whole subtree, nested matches included, once */
        else
            sum += match_total_below(child, needle);
    }
    return sum;
}

uint64_t flame_match_total(const struct flame_tree *tree, const char *needle)
{
    if (!needle || !*needle)
        return 0;
    return match_total_below(&tree->root.node, needle); /* the root "all" is not a frame */
}

/* ---------------------------------------------------------------------------------------- */
/* Bottom-up: hot functions                                                                  */

/* The state of one walk computing hot functions. */
struct hot_walk {
    const struct intern_set *names;     /* the tree's strings: slot index = name id */
    size_t *entry_of_slot;              /* per slot: index in entries, or SIZE_MAX */
    unsigned *open_on_path;             /* per slot: frames of that name on the current path */
    struct flame_hot_function *entries; /* one per name seen */
    size_t count;                       /* entries used */
    size_t capacity;                    /* entries allocated */
};

static void hot_visit(struct hot_walk *walk, const struct flame_node *node)
{
    size_t slot = intern_slot_of(walk->names, node->name);
    if (walk->entry_of_slot[slot] == SIZE_MAX) {
        xgrow((void **)&walk->entries, &walk->capacity, walk->count + 1, sizeof *walk->entries);
        walk->entries[walk->count] =
            (struct flame_hot_function){.name = node->name, .module = node->module};
        walk->entry_of_slot[slot] = walk->count++;
    }
    struct flame_hot_function *entry = &walk->entries[walk->entry_of_slot[slot]];
    entry->self += node->self;
    if (walk->open_on_path[slot] == 0)
        entry->total += node->total; /* outermost occurrence on this path: counted once */
    walk->open_on_path[slot]++;
    for (size_t i = 0; i < node->child_count; i++)
        hot_visit(walk, node->children[i]);
    walk->open_on_path[slot]--;
}

static int compare_hot(const void *a, const void *b)
{
    const struct flame_hot_function *x = a, *y = b;
    if (x->self != y->self)
        return x->self < y->self ? 1 : -1;
    if (x->total != y->total)
        return x->total < y->total ? 1 : -1;
    return strcmp(x->name, y->name);
}

size_t flame_hot_functions(const struct flame_tree *tree, struct flame_hot_function **out)
{
    struct hot_walk walk = {.names = &tree->names};
    walk.entry_of_slot = xmalloc(tree->names.capacity * sizeof *walk.entry_of_slot);
    for (size_t i = 0; i < tree->names.capacity; i++)
        walk.entry_of_slot[i] = SIZE_MAX;
    walk.open_on_path = xcalloc(tree->names.capacity, sizeof *walk.open_on_path);
    for (size_t i = 0; i < tree->root.node.child_count; i++)
        hot_visit(&walk, tree->root.node.children[i]);
    if (walk.count > 0)
        qsort(walk.entries, walk.count, sizeof *walk.entries, compare_hot);
    free(walk.entry_of_slot);
    free(walk.open_on_path);
    *out = walk.entries;
    return walk.count;
}

/* ---------------------------------------------------------------------------------------- */
/* Pruning                                                                                   */

static void prune_below(struct flame_tree *tree, struct flame_node *node, double threshold)
{
    size_t kept = 0;
    for (size_t i = 0; i < node->child_count; i++) {
        struct flame_node *child = node->children[i];
        if ((double)child->total < threshold) {
            node_free_subtree(tree, child);
            free(child);
            tree->node_count--;
        } else {
            prune_below(tree, child, threshold);
            node->children[kept++] = child; /* order kept */
        }
    }
    if (kept != node->child_count) {
        struct node_private *private = private_of(node);
        node->child_count = kept;
        private->last_hit = NULL;
        if (kept > CHILD_INDEX_MIN) {
            child_index_rebuild(private);
        } else {
            free(private->child_index);
            private->child_index = NULL;
            private->child_index_capacity = 0;
        }
    }
}

void flame_tree_prune(struct flame_tree *tree, double min_fraction)
{
    if (min_fraction <= 0)
        return;
    prune_below(tree, &tree->root.node, min_fraction * (double)tree->root.node.total);
}

/* ---------------------------------------------------------------------------------------- */
/* Text and JSON reports                                                                     */

/* Text for a terminal: UTF-8 only when the locale says so. */
static bool output_is_utf8(void)
{
    const char *codeset = nl_langinfo(CODESET);
    return codeset && strcmp(codeset, "UTF-8") == 0;
}

static void put_safe(FILE *out, const char *raw, bool utf8)
{
    char *safe = sanitize_dup(raw ? raw : "", utf8);
    fputs(safe, out);
    free(safe);
}

static double percent(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Deepest indentation in the text report: deeper frames are flush at this level. */
#define TEXT_MAX_INDENT 64

static void print_text_node(const struct flame_node *node, uint64_t root_total, double threshold,
                            bool utf8, FILE *out)
{
    int indent = node->depth < TEXT_MAX_INDENT ? node->depth : TEXT_MAX_INDENT;
    fprintf(out, "%7.2f%% %7.2f%%  %*s", percent(node->total, root_total),
            percent(node->self, root_total), indent * 2, "");
    put_safe(out, node->name, utf8);
    fputc('\n', out);
    for (size_t i = 0; i < node->child_count; i++)
        if ((double)node->children[i]->total >= threshold)
            print_text_node(node->children[i], root_total, threshold, utf8, out);
}

/* Hot functions listed after the tree. */
#define TEXT_HOT_FUNCTIONS 20

void flame_tree_print_text(const struct flame_tree *tree, double min_fraction, FILE *out)
{
    bool utf8 = output_is_utf8();
    uint64_t root_total = tree->root.node.total;
    fprintf(out, "%" PRIu64 " samples\n\n", root_total);
    fprintf(out, "%8s %8s  %s\n", "total", "self", "function (top-down)");
    double threshold = min_fraction > 0 ? min_fraction * (double)root_total : 0;
    print_text_node(&tree->root.node, root_total, threshold, utf8, out);

    struct flame_hot_function *hot;
    size_t hot_count = flame_hot_functions(tree, &hot);
    fprintf(out, "\n%8s %8s  %s\n", "self", "total", "hottest functions (bottom-up)");
    for (size_t i = 0; i < hot_count && i < TEXT_HOT_FUNCTIONS; i++) {
        fprintf(out, "%7.2f%% %7.2f%%  ", percent(hot[i].self, root_total),
                percent(hot[i].total, root_total));
        put_safe(out, hot[i].name, utf8);
        if (hot[i].module) {
            fputs("  (", out);
            put_safe(out, path_basename(hot[i].module), utf8);
            fputc(')', out);
        }
        fputc('\n', out);
    }
    free(hot);
}

static void print_json_node(const struct flame_node *node, FILE *out)
{
    fputs("{\"name\": ", out);
    sanitize_json_string(out, node->name);
    fputs(", \"module\": ", out);
    sanitize_json_string(out, node->module);
    fprintf(out, ", \"self\": %" PRIu64 ", \"total\": %" PRIu64 ", \"children\": [", node->self,
            node->total);
    for (size_t i = 0; i < node->child_count; i++) {
        if (i > 0)
            fputs(", ", out);
        print_json_node(node->children[i], out);
    }
    fputs("]}", out);
}

void flame_tree_print_json(const struct flame_tree *tree, FILE *out)
{
    print_json_node(&tree->root.node, out);
    fputc('\n', out);
}

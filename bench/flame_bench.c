/*
 * flame_bench: time from 1,000,000 synthetic samples to a drawn flame view (target <= 1 s).
 *
 * Phases, each timed with CLOCK_MONOTONIC:
 *   build  - 1,000,000 samples added one at a time (as a sampler delivers them), drawn from a
 *            fixed-seed, skewed mix of 200 distinct stacks of depth 10-40 over 300 function
 *            names (one frame in ten is stripped code: "module+0xoffset" labels);
 *   layout - flame_layout of the whole tree for a 200x50 terminal;
 *   draw   - every cell drawn with ncursesw into a virtual terminal (newterm on /dev/null,
 *            TERM=xterm-256color): the label sanitized, truncated to the cell's width, then
 *            wnoutrefresh + doupdate.
 * Prints the phases and the total, then PASS or FAIL; exit status 0 on PASS, 3 on FAIL.
 * Built and run by bench/flame_bench.sh.
 */
#include <curses.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flame.h"
#include "sanitize.h"

enum {
    BENCH_SAMPLES = 1000000, /* samples added */
    BENCH_STACKS = 200,      /* distinct stacks */
    BENCH_FUNCTIONS = 300,   /* distinct function names */
    BENCH_MIN_DEPTH = 10,    /* shallowest stack */
    BENCH_MAX_DEPTH = 40,    /* deepest stack */
    BENCH_COLUMNS = 200,     /* terminal width */
    BENCH_ROWS = 50,         /* terminal height */
};

#define BENCH_TARGET_SECONDS 1.0 /* from samples to a drawn view */

static uint64_t random_state = 0x2545f4914f6cdd1dULL; /* fixed seed */

static uint64_t random_next(void)
{
    random_state ^= random_state << 13;
    random_state ^= random_state >> 7;
    random_state ^= random_state << 17;
    return random_state;
}

static double now_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

/* The synthetic stacks, innermost first like captures; they share prefixes like real code. */
static struct capture_frame stacks[BENCH_STACKS][BENCH_MAX_DEPTH];
static size_t stack_depths[BENCH_STACKS];
static char function_names[BENCH_FUNCTIONS][48];

static void make_stacks(void)
{
    static const char *const modules[] = {"/usr/bin/server", "/usr/lib/libc.so.6",
                                          "/usr/lib/libssl.so.3"};
    for (int f = 0; f < BENCH_FUNCTIONS; f++)
        snprintf(function_names[f], sizeof function_names[f], "%s_%d",
                 f % 3 ? "server::handler::process_request" : "pthread_mutex_lock", f);
    for (int s = 0; s < BENCH_STACKS; s++) {
        size_t depth = BENCH_MIN_DEPTH + random_next() % (BENCH_MAX_DEPTH - BENCH_MIN_DEPTH + 1);
        /* Outermost frames come from a small set, so stacks share their callers. */
        int shared = s > 0 ? (int)(random_next() % depth) : 0;
        int donor = s > 0 ? (int)(random_next() % (uint64_t)s) : 0;
        for (size_t level = 0; level < depth; level++) { /* level 0 = outermost */
            struct capture_frame *frame = &stacks[s][depth - 1 - level];
            if ((int)level < shared && level < stack_depths[donor]) {
                *frame = stacks[donor][stack_depths[donor] - 1 - level];
                continue;
            }
            int function = (int)(random_next() % BENCH_FUNCTIONS);
            *frame = (struct capture_frame){
                .pc = 0x400000 + (uint64_t)function * 64,
                .function = random_next() % 10 ? function_names[function] : NULL,
                .module = modules[function % 3],
                .module_offset = (uint64_t)function * 64};
        }
        stack_depths[s] = depth;
    }
}

int main(void)
{
    setlocale(LC_ALL, "");
    make_stacks();

    double start = now_seconds();
    struct flame_tree *tree = flame_tree_new();
    for (int i = 0; i < BENCH_SAMPLES; i++) {
        /* Skewed: a few stacks are hot, as in a real profile. */
        uint64_t r = random_next();
        size_t s = (size_t)((r % BENCH_STACKS) * ((r >> 32) % BENCH_STACKS) / BENCH_STACKS);
        flame_tree_add_frames(tree, stacks[s], stack_depths[s], 1);
    }
    double built = now_seconds();

    struct flame_cell *cells = NULL;
    size_t capacity = 0;
    size_t cell_count = flame_layout(tree, NULL, BENCH_COLUMNS, BENCH_ROWS, &cells, &capacity);
    double laid_out = now_seconds();

    setenv("TERM", "xterm-256color", 1);
    FILE *terminal_out = fopen("/dev/null", "w");
    FILE *terminal_in = fopen("/dev/null", "r");
    if (!terminal_out || !terminal_in) {
        fprintf(stderr, "flame_bench: cannot open /dev/null\n");
        return 1;
    }
    SCREEN *screen = newterm(NULL, terminal_out, terminal_in);
    if (!screen) {
        fprintf(stderr, "flame_bench: newterm failed (TERM=xterm-256color)\n");
        return 1;
    }
    resizeterm(BENCH_ROWS, BENCH_COLUMNS);
    erase();
    char label[4 * BENCH_COLUMNS + 1];
    for (size_t i = 0; i < cell_count; i++) {
        const struct flame_cell *cell = &cells[i];
        sanitize_string(cell->node->name, strlen(cell->node->name), label, sizeof label, true);
        mvhline(cell->row, cell->x, ' ', cell->width);
        mvaddnstr(cell->row, cell->x, label, cell->width);
    }
    wnoutrefresh(stdscr);
    doupdate();
    double drawn = now_seconds();
    endwin();
    delscreen(screen);
    fclose(terminal_out);
    fclose(terminal_in);

    double total = drawn - start;
    printf("samples %d, stacks %d, nodes %zu, cells %zu (%dx%d)\n", BENCH_SAMPLES, BENCH_STACKS,
           flame_tree_node_count(tree), cell_count, BENCH_COLUMNS, BENCH_ROWS);
    printf("build  %8.1f ms\n", (built - start) * 1e3);
    printf("layout %8.1f ms\n", (laid_out - built) * 1e3);
    printf("draw   %8.1f ms\n", (drawn - laid_out) * 1e3);
    printf("total  %8.1f ms\n", total * 1e3);
    bool pass = total <= BENCH_TARGET_SECONDS;
    printf("%s (target <= %.0f ms)\n", pass ? "PASS" : "FAIL", BENCH_TARGET_SECONDS * 1e3);
    free(cells);
    flame_tree_free(tree);
    return pass ? 0 : 3;
}

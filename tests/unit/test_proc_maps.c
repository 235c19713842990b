/*
 * test_proc_maps: /proc/PID/maps read once (core/proc_maps.c) gives libdwfl the same modules as
 * dwfl_linux_proc_report, the vDSO included; the file-mappings-only text keeps exactly the lines
 * naming a file; every mapping is visited; a missing process is an errno value.
 */
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "proc_maps.h"

/* One module of a Dwfl, for comparisons. */
struct module_row {
    char name[256]; /* module name */
    uint64_t low;   /* first address */
    uint64_t high;  /* one past the last */
};

/* The modules of a Dwfl, collected by dwfl_getmodules. */
struct module_list {
    struct module_row rows[512]; /* modules, in dwfl's order */
    size_t count;                /* entries in rows */
};

static int collect(Dwfl_Module *module, void **userdata, const char *name, Dwarf_Addr start,
                   void *arg)
{
    (void)userdata;
    (void)start;
    struct module_list *list = arg;
    Dwarf_Addr low, high;
    dwfl_module_info(module, NULL, &low, &high, NULL, NULL, NULL, NULL);
    if (list->count < sizeof list->rows / sizeof list->rows[0]) {
        struct module_row *row = &list->rows[list->count++];
        snprintf(row->name, sizeof row->name, "%s", name);
        row->low = low;
        row->high = high;
    }
    return DWARF_CB_OK;
}

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
};

static int compare_rows(const void *a, const void *b)
{
    const struct module_row *x = a, *y = b;
    return (x->low > y->low) - (x->low < y->low);
}

/* The modules of pid as reported by maps (or, maps NULL, by libdwfl itself). */
static void modules_of(pid_t pid, const struct proc_maps *maps, struct module_list *out)
{
    memset(out, 0, sizeof *out);
    Dwfl *dwfl = dwfl_begin(&callbacks);
    dwfl_report_begin(dwfl);
    int rc = maps != NULL ? proc_maps_report(maps, dwfl, pid) : dwfl_linux_proc_report(dwfl, pid);
    CHECK_INT(rc, 0);
    CHECK_INT(dwfl_report_end(dwfl, NULL, NULL), 0);
    dwfl_getmodules(dwfl, collect, out, 0);
    dwfl_end(dwfl);
    qsort(out->rows, out->count, sizeof out->rows[0], compare_rows); /* the order reported */
}

/* visit callback: counts mappings and checks their shape. */
static void count_mapping(void *context, uint64_t start, uint64_t end, const char *perms)
{
    size_t *count = context;
    CHECK(start < end);
    CHECK(perms[0] == 'r' || perms[0] == '-');
    CHECK(perms[3] == 'p' || perms[3] == 's');
    (*count)++;
}

int main(void)
{
    /* a few anonymous mappings between the file mappings, as thread stacks make */
    void *anonymous[8];
    for (size_t i = 0; i < 8; i++)
        anonymous[i] =
            mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    struct proc_maps maps;
    CHECK_INT(proc_maps_read(getpid(), &maps), 0);
    CHECK(maps.length > 0 && maps.text[maps.length] == '\0');
    CHECK(strstr(maps.text, "[stack]") != NULL);

    /* the file lines: each names a file, and all of them are there */
    size_t text_files = 0, kept = 0;
    for (const char *line = maps.text; *line;) {
        const char *end = strchr(line, '\n');
        size_t length = end ? (size_t)(end - line) : strlen(line);
        const char *slash = memchr(line, '/', length);
        if (slash != NULL && slash[-1] == ' ')
            text_files++;
        line += length + (end != NULL);
    }
    for (const char *line = maps.files; *line;) {
        const char *end = strchr(line, '\n');
        size_t length = end ? (size_t)(end - line) : strlen(line);
        CHECK(memchr(line, '/', length) != NULL);
        CHECK(memmem(line, length, "[stack]", 7) == NULL);
        kept++;
        line += length + (end != NULL);
    }
    CHECK(kept > 0);
    CHECK_INT(kept, text_files);

    /* the vDSO's range is the [vdso] line's */
    const char *vdso_line = strstr(maps.text, "[vdso]");
    if (vdso_line != NULL) {
        while (vdso_line > maps.text && vdso_line[-1] != '\n')
            vdso_line--;
        unsigned long long start = strtoull(vdso_line, NULL, 16);
        CHECK(maps.vdso_start == start && maps.vdso_end > start);
    } else {
        printf("skip: no vdso\n");
    }

    /* libdwfl sees the same modules, in the same places, the vDSO included */
    struct module_list *ours = malloc(sizeof *ours), *theirs = malloc(sizeof *theirs);
    modules_of(getpid(), &maps, ours);
    modules_of(getpid(), NULL, theirs);
    CHECK(ours->count > 2);
    CHECK_INT(ours->count, theirs->count);
    for (size_t i = 0; i < ours->count && i < theirs->count; i++) {
        CHECK_STR(ours->rows[i].name, theirs->rows[i].name);
        CHECK(ours->rows[i].low == theirs->rows[i].low);
        CHECK(ours->rows[i].high == theirs->rows[i].high);
    }
    bool has_vdso = false;
    for (size_t i = 0; i < ours->count; i++)
        has_vdso |= strncmp(ours->rows[i].name, "[vdso: ", 7) == 0;
    CHECK(has_vdso == (vdso_line != NULL));
    free(ours);
    free(theirs);

    /* every line is visited */
    size_t lines = 0, visited = 0;
    for (const char *at = maps.text; *at; at++)
        lines += *at == '\n';
    proc_maps_each(&maps, count_mapping, &visited);
    CHECK_INT(visited, lines);
    proc_maps_free(&maps);
    CHECK(maps.text == NULL && maps.files == NULL);

    /* no such process: an errno value, nothing allocated */
    int rc = proc_maps_read(999999999, &maps);
    CHECK(rc == ENOENT || rc == ESRCH);
    CHECK(maps.text == NULL);

    for (size_t i = 0; i < 8; i++)
        munmap(anonymous[i], 65536);
    return CHECK_DONE();
}

/*
 * view_stacks: the Stacks view — every thread's stack of one process, grouped like
 * `sort | uniq -c`: one line per group with its count, states, member names and top frame,
 * lock findings (who holds the mutex a group waits on; DEADLOCK cycles) on the groups, and
 * the selected group expanded on Enter (the whole symbolized stack with inline frames, then
 * its member threads). The capture itself is taken by app_open_stacks() (s, r).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "sanitize.h"
#include "views.h"
#include "xalloc.h"

/* "function (file:line)" or "module+0xoffset" for one frame, sanitized. */
static void describe_frame(const struct capture_frame *frame, bool utf8, char *out, size_t len)
{
    char raw[1024];
    if (frame->function) {
        const char *file = frame->file ? strrchr(frame->file, '/') : NULL;
        file = file ? file + 1 : frame->file;
        if (file && frame->line > 0)
            snprintf(raw, sizeof raw, "%s (%s:%d)%s", frame->function, file, frame->line,
                     frame->is_inline ? " [inline]" : "");
        else
            snprintf(raw, sizeof raw, "%s%s", frame->function, frame->is_inline ? " [inline]" : "");
    } else if (frame->module) {
        const char *base = strrchr(frame->module, '/');
        snprintf(raw, sizeof raw, "%s+0x%llx", base ? base + 1 : frame->module,
                 (unsigned long long)frame->module_offset);
    } else {
        snprintf(raw, sizeof raw, "0x%llx", (unsigned long long)frame->pc);
    }
    sanitize_string(raw, strlen(raw), out, len, utf8);
}

/* The lock finding of a group, if a member waits for a lock or is in a deadlock cycle. */
static void group_lock_note(const struct stacks_snapshot *snapshot,
                            const struct stacks_group *group, char *out, size_t len)
{
    out[0] = '\0';
    const struct capture_result *capture = &snapshot->capture;
    for (size_t m = 0; m < group->count; m++) {
        pid_t tid = capture->threads[group->threads[m]].tid;
        for (size_t c = 0; c < snapshot->locks.cycle_count; c++)
            for (size_t k = 0; k < snapshot->locks.cycle_lengths[c]; k++)
                if (snapshot->locks.cycles[c][k] == tid) {
                    snprintf(out, len, "DEADLOCK (cycle of %zu threads)",
                             snapshot->locks.cycle_lengths[c]);
                    return;
                }
        for (size_t w = 0; w < snapshot->locks.wait_count; w++) {
            const struct stacks_lock_wait *wait = &snapshot->locks.waits[w];
            if (wait->waiter == tid && !out[0])
                snprintf(out, len, "waits for %s 0x%llx held by TID %d", wait->kind,
                         (unsigned long long)wait->address, (int)wait->owner);
        }
    }
}

/* Sentences from stacks_describe_locks, one per line, into lines (returns count). */
static size_t lock_sentences(const struct stacks_snapshot *snapshot, char lines[][256], size_t max)
{
    char *text = NULL;
    size_t length = 0;
    FILE *memory = open_memstream(&text, &length);
    if (!memory)
        return 0;
    stacks_describe_locks(&snapshot->capture, &snapshot->locks, memory);
    fclose(memory);
    size_t count = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && count < max;
         line = strtok_r(NULL, "\n", &save))
        snprintf(lines[count++], 256, "%s", line);
    free(text);
    return count;
}

static int draw_title(struct app *app, int top, int cols)
{
    struct app_stacks *s = &app->stacks;
    const struct capture_result *c = &s->snapshot.capture;
    char *comm = sanitize_dup(c->comm, app->utf8);
    draw_fill(top, 0, cols, THEME_TITLE);
    draw_printf(top, 0, cols, THEME_TITLE,
                "Stacks of %d (%s): %zu threads in %zu groups, by %s  [%s%s]", (int)c->pid, comm,
                c->thread_count, s->snapshot.group_count,
                stacks_grouping_name(s->snapshot.grouping), capture_unwinder_name(c->unwinder),
                c->consistent ? ", consistent" : "");
    free(comm);
    return 1;
}

static void draw_group_line(struct app *app, int y, int cols, size_t index, bool selected)
{
    const struct stacks_snapshot *snapshot = &app->stacks.snapshot;
    const struct stacks_group *group = &snapshot->groups[index];
    enum theme_role role = selected ? THEME_SELECTION : THEME_DEFAULT;
    draw_fill(y, 0, cols, role);
    const struct capture_thread *t = group->representative;
    char frame[512] = "(no frames)";
    if (t && t->frame_count > group->key_frame)
        describe_frame(&t->frames[group->key_frame], app->utf8, frame, sizeof frame);
    char *names = sanitize_dup(group->names, app->utf8);
    char note[256];
    group_lock_note(snapshot, group, note, sizeof note);
    int x = draw_printf(y, 0, cols, role, "%6zu  %-3s ", group->count, group->states);
    x += draw_text(y, x, cols - x, frame, role);
    if (note[0])
        x += draw_printf(y, x, cols - x, selected ? role : THEME_WARNING, "  %s", note);
    draw_printf(y, x, cols - x, selected ? role : THEME_STATUS, "  %s", names);
    free(names);
}

/* The expanded group: frames, then members. Returns rows used. */
static int draw_expanded(struct app *app, int top, int rows, int cols)
{
    struct app_stacks *s = &app->stacks;
    const struct stacks_group *group = &s->snapshot.groups[s->selected];
    const struct capture_thread *t = group->representative;
    int total = (int)(t ? t->frame_count : 0) + 2 + (int)group->count;
    if (s->detail_scroll > total - rows)
        s->detail_scroll = total - rows > 0 ? total - rows : 0;
    int line = 0, y = top;
    char text[1024];
#define EMIT(role, ...)                                                                            \
    do {                                                                                           \
        if (line >= s->detail_scroll && y < top + rows)                                            \
            draw_printf(y++, 0, cols, role, __VA_ARGS__);                                          \
        line++;                                                                                    \
    } while (0)
    EMIT(THEME_TITLE, "Stack (innermost first):");
    for (size_t f = 0; t && f < t->frame_count; f++) {
        const struct capture_frame *frame = &t->frames[f];
        describe_frame(frame, app->utf8, text, sizeof text);
        char module[256] = "";
        if (frame->module && frame->function) {
            const char *base = strrchr(frame->module, '/');
            sanitize_string(base ? base + 1 : frame->module,
                            strlen(base ? base + 1 : frame->module), module, sizeof module,
                            app->utf8);
        }
        EMIT(f == group->key_frame ? THEME_SORT_COLUMN : THEME_DEFAULT, "  #%-3zu %s%s%s%s", f,
             frame->is_inline ? "  " : "", text, module[0] ? "  in " : "", module);
    }
    EMIT(THEME_TITLE, "Threads (%zu):", group->count);
    for (size_t m = 0; m < group->count; m++) {
        const struct capture_thread *member = &s->snapshot.capture.threads[group->threads[m]];
        char *name = sanitize_dup(member->name, app->utf8);
        char *wchan = sanitize_dup(member->wchan[0] ? member->wchan : "-", app->utf8);
        EMIT(THEME_DEFAULT, "  %7d  %c  %-20.20s  %-18.18s  stopped %lld us", (int)member->tid,
             member->state ? member->state : '?', name, wchan,
             (long long)(member->stop_ns > 0 ? member->stop_ns / 1000 : 0));
        free(name);
        free(wchan);
    }
#undef EMIT
    return y - top;
}

static void stacks_draw(struct app *app, int top, int rows, int cols)
{
    struct app_stacks *s = &app->stacks;
    if (!s->have) {
        draw_fill(top, 0, cols, THEME_TITLE);
        draw_printf(top, 0, cols, THEME_TITLE, "Stacks of %d", (int)s->pid);
        draw_text(top + 2, 1, cols - 1, s->error[0] ? s->error : "no capture", THEME_WARNING);
        return;
    }
    int y = top + draw_title(app, top, cols);
    static char sentences[16][256];
    size_t sentence_count = lock_sentences(&s->snapshot, sentences, 16);
    for (size_t i = 0; i < sentence_count && y < top + rows - 2; i++) {
        char *safe = sanitize_dup(sentences[i], app->utf8);
        draw_text(y++, 1, cols - 1, safe, THEME_WARNING);
        free(safe);
    }
    if (s->snapshot.capture.note[0] && y < top + rows - 2) {
        char *safe = sanitize_dup(s->snapshot.capture.note, app->utf8);
        draw_text(y++, 1, cols - 1, safe, THEME_WARNING);
        free(safe);
    }
    size_t errors = 0;
    for (size_t i = 0; i < s->snapshot.capture.thread_count; i++)
        errors += s->snapshot.capture.threads[i].error[0] != '\0';
    if (errors && y < top + rows - 2)
        draw_printf(y++, 1, cols - 1, THEME_WARNING,
                    "%zu thread(s) not captured (exited, did not stop, ...): see "
                    "`stacktop stacks %d`",
                    errors, (int)s->snapshot.capture.pid);
    draw_fill(y, 0, cols, THEME_TABLE_HEADER);
    draw_text(y++, 0, cols, " COUNT  S   TOP FRAME (by grouping)   LOCKS   THREADS",
              THEME_TABLE_HEADER);

    long count = (long)s->snapshot.group_count;
    if (s->selected >= count)
        s->selected = count - 1;
    if (s->selected < 0)
        s->selected = 0;
    int list_rows = top + rows - y;
    if (s->expanded && count > 0) {
        int group_rows = list_rows / 3 > 1 ? list_rows / 3 : 1;
        list_rows = group_rows;
    }
    if (s->selected < s->scroll)
        s->scroll = s->selected;
    if (s->selected >= s->scroll + list_rows)
        s->scroll = s->selected - list_rows + 1;
    for (int i = 0; i < list_rows && s->scroll + i < count; i++)
        draw_group_line(app, y + i, cols, (size_t)(s->scroll + i), s->scroll + i == s->selected);
    if (count == 0)
        draw_text(y, 1, cols - 1, "no thread could be captured", THEME_WARNING);
    y += list_rows;
    if (s->expanded && count > 0 && y < top + rows)
        draw_expanded(app, y, top + rows - y, cols);
}

static void stacks_footer(char *buf, size_t buflen)
{
    snprintf(buf, buflen, "Enter Expand|g Grouping|r Recapture|Esc Back|q Quit");
}

static void stacks_footer_right(struct app *app, char *buf, size_t buflen)
{
    const struct capture_result *c = &app->stacks.snapshot.capture;
    if (!app->stacks.have) {
        buf[0] = '\0';
        return;
    }
    snprintf(buf, buflen,
             "captured in %.1f ms; stops: max %lld us, p99 %lld us, total %.1f ms; time to stop: "
             "max %.1f ms",
             (double)c->captured_us / 1000.0, (long long)(c->stops.max_ns / 1000),
             (long long)(c->stops.p99_ns / 1000), (double)c->stops.total_ns / 1e6,
             (double)c->stops.to_stop_max_ns / 1e6);
}

const struct view_ops view_stacks_ops = {"Stacks", false, stacks_draw, stacks_footer,
                                         stacks_footer_right};

/*
 * fixture_process.h: starting and stopping the fixture programs (tests/fixtures, built into
 * build/fixtures) from unit tests: a fixture prints "ready PID" once it is in position.
 * Static inline so that each test includes only what it uses.
 */
#ifndef STACKTOP_FIXTURE_PROCESS_H
#define STACKTOP_FIXTURE_PROCESS_H

#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Path of fixture program: $FIXTURES/PROGRAM, else build/fixtures/PROGRAM next to the test
 * binary (build/tests/TEST). */
static inline void fixture_path(const char *program, char *out, size_t size)
{
    const char *dir = getenv("FIXTURES");
    if (dir != NULL && dir[0] != '\0') {
        snprintf(out, size, "%s/%s", dir, program);
        return;
    }
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len < 0)
        len = 0;
    self[len] = '\0';
    char *tests_dir = dirname(self);
    snprintf(out, size, "%s/../fixtures/%s", tests_dir, program);
}

/* Starts fixture PROGRAM with up to two arguments (NULL to omit) and waits for its
 * "ready PID" line; returns the pid, or -1 (with a message) when it did not start. */
static inline pid_t fixture_process_start(const char *program, const char *first,
                                          const char *second)
{
    char path[PATH_MAX + 64];
    fixture_path(program, path, sizeof path);
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(pipe_fds[1], STDOUT_FILENO);
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        execl(path, program, first, second, (char *)NULL);
        _exit(127);
    }
    close(pipe_fds[1]);
    char line[64] = "";
    size_t used = 0;
    while (used + 1 < sizeof line) {
        ssize_t got = read(pipe_fds[0], line + used, 1);
        if (got <= 0 || line[used] == '\n')
            break;
        used++;
    }
    line[used] = '\0';
    close(pipe_fds[0]);
    int announced = 0;
    if (sscanf(line, "ready %d", &announced) != 1 || announced != pid) {
        fprintf(stderr, "fixture %s did not start (got \"%s\")\n", path, line);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

/* Ends a fixture (continuing it first in case a test left it stopped) and reaps it. */
static inline void fixture_process_stop(pid_t pid)
{
    kill(pid, SIGCONT);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

#endif

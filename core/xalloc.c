/*
 * xalloc: allocation wrappers that never return NULL. Out of memory is the one error we do not
 * try to recover from: the message names the size that failed, then the process exits 1.
 */
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void xalloc_die(size_t size)
{
    fprintf(stderr, "stacktop: out of memory (allocating %zu bytes)\n", size);
    exit(1);
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        xalloc_die(size);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        xalloc_die(count * size);
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        xalloc_die(size);
    return p;
}

void xgrow(void **array, size_t *capacity, size_t need, size_t elem)
{
    if (need <= *capacity)
        return;
    size_t cap = *capacity ? *capacity : 16;
    while (cap < need)
        cap *= 2;
    *array = xrealloc(*array, cap * elem);
    *capacity = cap;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (n < 0)
        xalloc_die(0);
    return out;
}

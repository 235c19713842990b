/*
 * xalloc: allocation wrappers. Allocation failure is fatal (rule 4 of STYLE.md): the process
 * prints one line and exits, so callers never test for NULL from these.
 */
#ifndef STACKTOP_XALLOC_H
#define STACKTOP_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Grows *array (of element size elem) so that it holds at least need elements; doubles. */
void xgrow(void **array, size_t *capacity, size_t need, size_t elem);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh heap string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

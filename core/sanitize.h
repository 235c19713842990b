/*
 * sanitize: makes target-controlled strings (comm, cmdline, paths, user names, symbols) safe
 * to print on a terminal or into an export. Nothing raw reaches the screen:
 *   - C0 controls, DEL and C1 controls (U+0080..U+009F) become \xNN (\n \t \r \e spelled so);
 *   - invalid or overlong UTF-8 bytes become \xNN;
 *   - bidirectional overrides and isolates (U+202A..U+202E, U+2066..U+2069), and
 *     zero-width and line/paragraph separators, become \u{XXXX};
 *   - a backslash stays a single backslash (the escapes are for reading, not for parsing back).
 * In ASCII mode (non-UTF-8 locale) every byte >= 0x80 is escaped too.
 */
#ifndef STACKTOP_SANITIZE_H
#define STACKTOP_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Sanitizes in[0..inlen) into out (always NUL-terminated, truncated on a character boundary
 * to outlen). Returns the length written, excluding the NUL. */
size_t sanitize_string(const char *in, size_t inlen, char *out, size_t outlen, bool utf8);

/* Convenience: sanitizes a NUL-terminated string into a fresh heap string. */
char *sanitize_dup(const char *in, bool utf8);

/* Writes raw as a JSON string literal: sanitized first (so no control or bidi character reaches
 * a report raw), then escaped; NULL is written as null. */
void sanitize_json_string(FILE *out, const char *raw);

/* Display width in terminal cells of an already-sanitized string (UTF-8 aware: wide CJK
 * characters count 2, combining marks 0). */
size_t sanitize_display_width(const char *s, bool utf8);

#endif

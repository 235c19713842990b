/*
 * test_sanitize: core/sanitize.c. Known hostile names (terminal escape sequences, 8-bit CSI,
 * invalid, overlong and surrogate UTF-8, bidi overrides) give exact escapes; a fuzz loop with a
 * fixed seed checks the output invariants at every truncation length; widths of ASCII, CJK,
 * combining marks and emoji do not depend on the locale (the test runs in the C locale).
 */
#include "check.h"
#include "sanitize.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Sanitizes a NUL-terminated literal into a static buffer of the given size. */
static const char *sanitized(const char *in, size_t outlen, bool utf8)
{
    static char out[1024];
    size_t length = sanitize_string(in, strlen(in), out, outlen, utf8);
    if (length != strlen(out))
        return "(length mismatch)";
    return out;
}

static void test_hostile_names(void)
{
    CHECK_STR(sanitized("bash", 64, true), "bash");
    CHECK_STR(sanitized("\033]0;pwned\007", 64, true), "\\e]0;pwned\\x07");
    CHECK_STR(sanitized("\033[2J", 64, true), "\\e[2J");
    CHECK_STR(sanitized("a\xc2\x9b"
                        "31mb",
                        64, true),
              "a\\x9b31mb"); /* 8-bit CSI as valid UTF-8 */
    CHECK_STR(sanitized("a\x9b"
                        "31m",
                        64, true),
              "a\\x9b31m"); /* 8-bit CSI as a raw byte */
    CHECK_STR(sanitized("line\nnext\ttab\rcr", 64, true), "line\\nnext\\ttab\\rcr");
    CHECK_STR(sanitized("del\x7f", 64, true), "del\\x7f");
    CHECK_STR(sanitized("\x01\x1f", 64, true), "\\x01\\x1f");
    CHECK_STR(sanitized("back\\slash", 64, true), "back\\slash");

    /* invalid UTF-8: each byte on its own */
    CHECK_STR(sanitized("\xc0\xaf", 64, true), "\\xc0\\xaf"); /* overlong '/' */
    CHECK_STR(sanitized("\xe0\x80\xaf", 64, true), "\\xe0\\x80\\xaf");
    CHECK_STR(sanitized("\xed\xa0\x80", 64, true), "\\xed\\xa0\\x80");          /* surrogate D800 */
    CHECK_STR(sanitized("\xf4\x90\x80\x80", 64, true), "\\xf4\\x90\\x80\\x80"); /* > 10FFFF */
    CHECK_STR(sanitized("\xf8\x88\x80\x80\x80", 64, true), "\\xf8\\x88\\x80\\x80\\x80");
    CHECK_STR(sanitized("\xff\xfe", 64, true), "\\xff\\xfe");
    CHECK_STR(sanitized("x\xe2\x80", 64, true), "x\\xe2\\x80");    /* cut short at the end */
    CHECK_STR(sanitized("\xe2\x28\xa1", 64, true), "\\xe2(\\xa1"); /* bad continuation */

    /* valid UTF-8 stays as is */
    CHECK_STR(sanitized("caf\xc3\xa9", 64, true), "caf\xc3\xa9");
    CHECK_STR(sanitized("\xe6\x97\xa5\xe6\x9c\xac", 64, true), "\xe6\x97\xa5\xe6\x9c\xac");
    CHECK_STR(sanitized("\xf0\x9f\x98\x80", 64, true), "\xf0\x9f\x98\x80");
    CHECK_STR(sanitized("\xf4\x8f\xbf\xbf", 64, true), "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
    CHECK_STR(sanitized("\xc2\xa0", 64, true), "\xc2\xa0"); /* U+00A0, first after C1 */

    /* bidi and invisible characters */
    CHECK_STR(sanitized("evil\xe2\x80\xaegpj.exe", 64, true), "evil\\u{202E}gpj.exe"); /* RLO */
    CHECK_STR(sanitized("\xe2\x80\xaa\xe2\x80\xac", 64, true), "\\u{202A}\\u{202C}");
    CHECK_STR(sanitized("\xe2\x81\xa6\xe2\x81\xa9", 64, true), "\\u{2066}\\u{2069}");
    CHECK_STR(sanitized("a\xe2\x80\x8b"
                        "b",
                        64, true),
              "a\\u{200B}b");
    CHECK_STR(sanitized("\xe2\x80\x8f\xe2\x80\xa8\xe2\x80\xa9", 64, true),
              "\\u{200F}\\u{2028}\\u{2029}");
    CHECK_STR(sanitized("\xef\xbb\xbf"
                        "x",
                        64, true),
              "\\u{FEFF}x");
    CHECK_STR(sanitized("\xf3\xa0\x81\x81", 64, true), "\\u{E0041}"); /* tag 'A' */

    /* ASCII mode: every byte >= 0x80 */
    CHECK_STR(sanitized("caf\xc3\xa9", 64, false), "caf\\xc3\\xa9");
    CHECK_STR(sanitized("\xe2\x80\xae", 64, false), "\\xe2\\x80\\xae");
    CHECK_STR(sanitized("\033x", 64, false), "\\ex");
}

static void test_truncation_examples(void)
{
    char out[8];
    CHECK_INT(sanitize_string("abc", 3, out, 0, true), 0);
    CHECK_INT(sanitize_string("abc", 3, out, 1, true), 0);
    CHECK_STR(out, "");
    CHECK_INT(sanitize_string("abc", 3, out, 3, true), 2);
    CHECK_STR(out, "ab");
    /* "\e" needs 2 bytes + NUL */
    CHECK_INT(sanitize_string("a\033", 2, out, 3, true), 1);
    CHECK_STR(out, "a");
    CHECK_INT(sanitize_string("a\033", 2, out, 4, true), 3);
    CHECK_STR(out, "a\\e");
    /* a 3-byte character is all or nothing */
    CHECK_INT(sanitize_string("a\xe6\x97\xa5", 4, out, 4, true), 1);
    CHECK_INT(sanitize_string("a\xe6\x97\xa5", 4, out, 5, true), 4);
    /* "\x80" is all or nothing */
    CHECK_INT(sanitize_string("\x80", 1, out, 4, true), 0);
    CHECK_INT(sanitize_string("\x80", 1, out, 5, true), 4);
    /* an embedded NUL is escaped, not an end */
    CHECK_INT(sanitize_string("a\0b", 3, out, sizeof out, true), 6);
    CHECK_STR(out, "a\\x00b");
}

static void test_dup(void)
{
    char *copy = sanitize_dup("x\033[31my", true);
    CHECK_STR(copy, "x\\e[31my");
    free(copy);
    copy = sanitize_dup(NULL, true);
    CHECK_STR(copy, "");
    free(copy);
    /* worst case: every byte becomes \xNN */
    char worst[65];
    memset(worst, 0xff, 64);
    worst[64] = '\0';
    copy = sanitize_dup(worst, true);
    CHECK_INT(strlen(copy), 256);
    free(copy);
}

/* An independent UTF-8 check: returns the length of the character at s (0 if ill-formed)
 * and its code point. */
static size_t test_utf8_char(const unsigned char *s, size_t n, uint32_t *code_point)
{
    size_t length;
    uint32_t value, minimum;
    if (s[0] < 0x80) {
        *code_point = s[0];
        return 1;
    } else if ((s[0] & 0xE0) == 0xC0) {
        length = 2, value = s[0] & 0x1F, minimum = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        length = 3, value = s[0] & 0x0F, minimum = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        length = 4, value = s[0] & 0x07, minimum = 0x10000;
    } else {
        return 0;
    }
    if (n < length)
        return 0;
    for (size_t i = 1; i < length; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        value = (value << 6) | (s[i] & 0x3F);
    }
    if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
        return 0;
    *code_point = value;
    return length;
}

/* Code points that must never reach the output (C1, bidi, invisible). */
static bool test_forbidden_code_point(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x200B && cp <= 0x200F) || cp == 0x2028 ||
           cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
           cp == 0xFEFF;
}

/* Whether out is safe: valid UTF-8 (or ASCII), no C0/DEL byte, no forbidden code point. */
static bool test_output_safe(const char *out, size_t length, bool utf8)
{
    const unsigned char *s = (const unsigned char *)out;
    size_t i = 0;
    while (i < length) {
        if (s[i] < 0x20 || s[i] == 0x7F)
            return false;
        if (!utf8 && s[i] >= 0x80)
            return false;
        uint32_t cp = 0;
        size_t n = test_utf8_char(s + i, length - i, &cp);
        if (n == 0 || test_forbidden_code_point(cp))
            return false;
        i += n;
    }
    return true;
}

/* Whether out ends inside an escape. The fuzz alphabet has no literal x, u, n, t, r or e, so
 * any of them right after the last backslash belongs to an escape. */
static bool test_ends_in_partial_escape(const char *out)
{
    const char *slash = strrchr(out, '\\');
    if (!slash)
        return false;
    const char *tail = slash + 1;
    size_t n = strlen(tail);
    if (tail[0] == 'x')
        return n < 3;
    if (tail[0] == 'u')
        return strchr(tail, '}') == NULL;
    return false;
}

static uint32_t test_random_state = 0x5eed1234u;

static uint32_t test_random(void)
{
    /* xorshift32: deterministic across platforms */
    test_random_state ^= test_random_state << 13;
    test_random_state ^= test_random_state >> 17;
    test_random_state ^= test_random_state << 5;
    return test_random_state;
}

/* Fills buffer with a hostile mix: controls, raw high bytes, valid multi-byte characters,
 * bidi controls, cut-off sequences and a few literal characters, but never a literal x, u, t,
 * n, r or e (test_ends_in_partial_escape relies on it). Returns the length. */
static size_t test_random_input(unsigned char *buffer, size_t capacity)
{
    static const char *const pieces[] = {
        "a",
        "Z",
        " ",
        "\\",
        "/",
        "\033",
        "\x07",
        "\x7f",
        "\n",
        "\x9b",
        "\xc2\x9b",
        "\xc2\x85",
        "\xc3\xa9",
        "\xe6\x97\xa5",
        "\xf0\x9f\x98\x80",
        "\xe2\x80\xae",
        "\xe2\x81\xa6",
        "\xef\xbb\xbf",
        "\xc0\xaf",
        "\xed\xa0\x80",
        "\xf4\x90\x80\x80",
        "\xe2\x80",
        "\xf0\x9f",
        "\xcc\x81",
        "\xf3\xa0\x80\xa1",
    };
    size_t target = test_random() % capacity, length = 0;
    while (length < target) {
        if (test_random() % 4 == 0) {
            unsigned char byte = (unsigned char)(test_random() & 0xFF);     /* any byte at all */
            buffer[length++] = strchr("xutnre", byte) && byte ? 'a' : byte; /* see above */
            continue;
        }
        const char *piece = pieces[test_random() % (sizeof pieces / sizeof pieces[0])];
        size_t n = strlen(piece);
        if (length + n > capacity)
            break;
        memcpy(buffer + length, piece, n);
        length += n;
    }
    return length;
}

static void test_fuzz_truncation(void)
{
    int unsafe = 0, not_prefix = 0, split_escape = 0, bad_length = 0, overflow = 0;
    for (int round = 0; round < 3000; round++) {
        unsigned char input[48];
        size_t inlen = test_random_input(input, sizeof input);
        for (int mode = 0; mode < 2; mode++) {
            bool utf8 = mode == 0;
            char full[48 * 10 + 1];
            size_t full_length =
                sanitize_string((const char *)input, inlen, full, sizeof full, utf8);
            if (full_length != strlen(full))
                bad_length++;
            if (!test_output_safe(full, full_length, utf8))
                unsafe++;
            size_t previous = 0;
            for (size_t outlen = 1; outlen <= full_length + 1; outlen++) {
                char out[48 * 10 + 8];
                memset(out, 'Q', sizeof out);
                size_t length = sanitize_string((const char *)input, inlen, out, outlen, utf8);
                if (length >= outlen || out[length] != '\0' || length != strlen(out) ||
                    length < previous || out[outlen] != 'Q')
                    bad_length++;
                for (size_t i = length + 1; i < sizeof out; i++) {
                    if (i >= outlen && out[i] != 'Q') {
                        overflow++;
                        break;
                    }
                }
                if (memcmp(out, full, length) != 0)
                    not_prefix++;
                if (!test_output_safe(out, length, utf8))
                    unsafe++;
                if (test_ends_in_partial_escape(out))
                    split_escape++;
                /* no unit is longer than "\u{XXXXXX}": truncation gives up at most that */
                if (length + 10 < outlen - 1 && length < full_length)
                    bad_length++;
                previous = length;
            }
            if (previous != full_length)
                bad_length++;
        }
    }
    CHECK_INT(unsafe, 0);
    CHECK_INT(not_prefix, 0);
    CHECK_INT(split_escape, 0);
    CHECK_INT(bad_length, 0);
    CHECK_INT(overflow, 0);
}

static void test_display_width(void)
{
    CHECK_INT(sanitize_display_width("", true), 0);
    CHECK_INT(sanitize_display_width("bash", true), 4);
    CHECK_INT(sanitize_display_width("\\e[2J", true), 5);
    CHECK_INT(sanitize_display_width("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", true), 6); /* 日本語 */
    CHECK_INT(sanitize_display_width("\xed\x95\x9c", true), 2);             /* Hangul 한 */
    CHECK_INT(sanitize_display_width("\xe3\x81\x82", true), 2);             /* Hiragana あ */
    CHECK_INT(sanitize_display_width("\xef\xbc\xa1", true), 2);             /* fullwidth Ａ */
    CHECK_INT(sanitize_display_width("\xef\xbd\xb1", true), 1);             /* halfwidth ｱ */
    CHECK_INT(sanitize_display_width("\xf0\x9f\x98\x80", true), 2);         /* emoji */
    CHECK_INT(sanitize_display_width("\xf0\xa0\x80\x80", true), 2);         /* CJK ext. B */
    CHECK_INT(sanitize_display_width("e\xcc\x81", true), 1);                /* e + acute */
    CHECK_INT(sanitize_display_width("a\xcc\x81\xcc\xa3", true), 1);        /* two marks */
    CHECK_INT(sanitize_display_width("\xe0\xa4\x95\xe0\xa5\x8d", true), 1); /* क् virama */
    CHECK_INT(sanitize_display_width("caf\xc3\xa9", true), 4);
    CHECK_INT(sanitize_display_width("\xd0\x96", true), 1); /* Cyrillic */
    CHECK_INT(sanitize_display_width("x\xff", true), 2);    /* unsanitized byte: 1 cell */
    CHECK_INT(sanitize_display_width("caf\\xc3\\xa9", false), 11);
    CHECK_INT(sanitize_display_width(NULL, true), 0);

    /* width of sanitized output equals its length in ASCII mode */
    char out[64];
    size_t length = sanitize_string("\xe6\x97\xa5", 3, out, sizeof out, false);
    CHECK_INT(sanitize_display_width(out, false), length);
}

int main(void)
{
    test_hostile_names();
    test_truncation_examples();
    test_dup();
    test_fuzz_truncation();
    test_display_width();
    return CHECK_DONE();
}

/*
 * sanitize: the one gate between target-controlled bytes and the terminal (or an export).
 *
 * Owns: UTF-8 validation, the escape spelling of unsafe input, and a locale-independent
 * display-width estimate (a small wcwidth) used to lay out sanitized strings.
 *
 * Invariants of sanitize_string's output:
 *   - valid UTF-8 (UTF-8 mode) or pure ASCII (ASCII mode);
 *   - no byte < 0x20 and no 0x7f; no C1 control, bidirectional control or invisible format
 *     character (the table invisible_ranges) as a code point;
 *   - built from whole units (one input character, or one escape), so truncation never
 *     splits an escape or a UTF-8 sequence and every truncated result is a prefix of the
 *     untruncated one.
 *
 * Escape spelling (for a human reader; not meant to be parsed back):
 *   \n \t \r \e          LF, TAB, CR, ESC;
 *   \xNN                 any other C0 control, DEL, each byte of invalid UTF-8, every byte
 *                        >= 0x80 in ASCII mode, and a C1 control (NN = its code point
 *                        0x80..0x9f, whether it came as a valid C2 8x/9x pair or a raw byte);
 *   \u{XXXX}             bidirectional and invisible format characters (4 to 6 hex digits).
 *
 * Widths: sanitize_display_width does not call wcwidth(3), whose answer depends on the
 * process locale (tests run in the C locale). It uses two tables instead: zero-width
 * (combining marks and format characters) and wide (East Asian Wide/Fullwidth blocks and the
 * common emoji blocks). These cover the scripts seen in process names and paths; a code point
 * missing from both counts 1 cell, which is what most terminals do for the rarer cases.
 */
#include "sanitize.h"

#include <stdlib.h>

#include "xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* An inclusive range of code points. */
struct sanitize_range {
    uint32_t first; /* first code point of the range */
    uint32_t last;  /* last code point of the range (inclusive) */
};

/* How one UTF-8 lead byte constrains the rest of its sequence (RFC 3629, table 3-7 of the
 * Unicode standard): the second byte's tighter range excludes overlong forms, surrogates
 * (ED A0..BF) and code points above U+10FFFF (F4 90..). */
struct utf8_lead {
    unsigned char lead_first;   /* first lead byte this row covers */
    unsigned char lead_last;    /* last lead byte this row covers */
    unsigned char length;       /* total sequence length in bytes */
    unsigned char second_first; /* lowest allowed second byte */
    unsigned char second_last;  /* highest allowed second byte */
    unsigned char payload_bits; /* bits of the code point carried by the lead byte */
};

static const struct utf8_lead utf8_leads[] = {
    {0xC2, 0xDF, 2, 0x80, 0xBF, 5}, /* U+0080..U+07FF (C0, C1 would be overlong) */
    {0xE0, 0xE0, 3, 0xA0, 0xBF, 4}, /* U+0800..U+0FFF, no overlong */
    {0xE1, 0xEC, 3, 0x80, 0xBF, 4}, /* U+1000..U+CFFF */
    {0xED, 0xED, 3, 0x80, 0x9F, 4}, /* U+D000..U+D7FF, no surrogates */
    {0xEE, 0xEF, 3, 0x80, 0xBF, 4}, /* U+E000..U+FFFF */
    {0xF0, 0xF0, 4, 0x90, 0xBF, 3}, /* U+10000..U+3FFFF, no overlong */
    {0xF1, 0xF3, 4, 0x80, 0xBF, 3}, /* U+40000..U+FFFFF */
    {0xF4, 0xF4, 4, 0x80, 0x8F, 3}, /* U+100000..U+10FFFF, nothing beyond */
};

/* C0 controls spelled by a letter; zero means \xNN. */
static const char c0_letters[0x20] = {
    ['\n'] = 'n',
    ['\t'] = 't',
    ['\r'] = 'r',
    [0x1b] = 'e',
};

/* Valid characters that are escaped as \u{XXXX}: they reorder or hide text. Sorted. */
static const struct sanitize_range invisible_ranges[] = {
    {0x061C, 0x061C},   /* ARABIC LETTER MARK (bidirectional mark) */
    {0x200B, 0x200F},   /* zero width space, non-joiner, joiner; LRM, RLM */
    {0x2028, 0x2029},   /* line and paragraph separators */
    {0x202A, 0x202E},   /* bidirectional embeddings and overrides (LRE RLE PDF LRO RLO) */
    {0x2060, 0x206F},   /* word joiner, invisible operators, isolates (LRI RLI FSI PDI),
                           deprecated format characters */
    {0xFEFF, 0xFEFF},   /* zero width no-break space (BOM) */
    {0xFFF9, 0xFFFB},   /* interlinear annotation controls */
    {0xE0001, 0xE0001}, /* LANGUAGE TAG */
    {0xE0020, 0xE007F}, /* tag characters (invisible ASCII look-alikes) */
};

/* Code points that occupy no cell: combining marks (Mn, Me), Hangul medial and final jamo,
 * variation selectors and format characters. Sorted, non-overlapping. */
static const struct sanitize_range zero_width_ranges[] = {
    {0x0300, 0x036F},   {0x0483, 0x0489},   {0x0591, 0x05BD},   {0x05BF, 0x05BF},
    {0x05C1, 0x05C2},   {0x05C4, 0x05C5},   {0x05C7, 0x05C7},   {0x0610, 0x061A},
    {0x061C, 0x061C},   {0x064B, 0x065F},   {0x0670, 0x0670},   {0x06D6, 0x06DC},
    {0x06DF, 0x06E4},   {0x06E7, 0x06E8},   {0x06EA, 0x06ED},   {0x0711, 0x0711},
    {0x0730, 0x074A},   {0x07A6, 0x07B0},   {0x07EB, 0x07F3},   {0x0816, 0x0819},
    {0x081B, 0x0823},   {0x0825, 0x0827},   {0x0829, 0x082D},   {0x0859, 0x085B},
    {0x08D3, 0x08E1},   {0x08E3, 0x0902},   {0x093A, 0x093A},   {0x093C, 0x093C},
    {0x0941, 0x0948},   {0x094D, 0x094D},   {0x0951, 0x0957},   {0x0962, 0x0963},
    {0x0981, 0x0981},   {0x09BC, 0x09BC},   {0x09C1, 0x09C4},   {0x09CD, 0x09CD},
    {0x09E2, 0x09E3},   {0x0A01, 0x0A02},   {0x0A3C, 0x0A3C},   {0x0A41, 0x0A42},
    {0x0A47, 0x0A48},   {0x0A4B, 0x0A4D},   {0x0A70, 0x0A71},   {0x0A81, 0x0A82},
    {0x0ABC, 0x0ABC},   {0x0AC1, 0x0AC5},   {0x0AC7, 0x0AC8},   {0x0ACD, 0x0ACD},
    {0x0B01, 0x0B01},   {0x0B3C, 0x0B3C},   {0x0B3F, 0x0B3F},   {0x0B41, 0x0B44},
    {0x0B4D, 0x0B4D},   {0x0B56, 0x0B56},   {0x0B82, 0x0B82},   {0x0BC0, 0x0BC0},
    {0x0BCD, 0x0BCD},   {0x0C3E, 0x0C40},   {0x0C46, 0x0C48},   {0x0C4A, 0x0C4D},
    {0x0C55, 0x0C56},   {0x0CBC, 0x0CBC},   {0x0CCC, 0x0CCD},   {0x0D41, 0x0D44},
    {0x0D4D, 0x0D4D},   {0x0DCA, 0x0DCA},   {0x0DD2, 0x0DD4},   {0x0DD6, 0x0DD6},
    {0x0E31, 0x0E31},   {0x0E34, 0x0E3A},   {0x0E47, 0x0E4E},   {0x0EB1, 0x0EB1},
    {0x0EB4, 0x0EBC},   {0x0EC8, 0x0ECD},   {0x0F18, 0x0F19},   {0x0F35, 0x0F35},
    {0x0F37, 0x0F37},   {0x0F39, 0x0F39},   {0x0F71, 0x0F7E},   {0x0F80, 0x0F84},
    {0x0F86, 0x0F87},   {0x0F8D, 0x0FBC},   {0x0FC6, 0x0FC6},   {0x102D, 0x1030},
    {0x1032, 0x1037},   {0x1039, 0x103A},   {0x1058, 0x1059},   {0x1160, 0x11FF},
    {0x135D, 0x135F},   {0x1712, 0x1714},   {0x1732, 0x1734},   {0x1752, 0x1753},
    {0x1772, 0x1773},   {0x17B4, 0x17B5},   {0x17B7, 0x17BD},   {0x17C6, 0x17C6},
    {0x17C9, 0x17D3},   {0x17DD, 0x17DD},   {0x180B, 0x180E},   {0x18A9, 0x18A9},
    {0x1920, 0x1922},   {0x1927, 0x1928},   {0x1932, 0x1932},   {0x1939, 0x193B},
    {0x1A17, 0x1A18},   {0x1AB0, 0x1AFF},   {0x1B00, 0x1B03},   {0x1B34, 0x1B34},
    {0x1B36, 0x1B3A},   {0x1B3C, 0x1B3C},   {0x1B42, 0x1B42},   {0x1B6B, 0x1B73},
    {0x1DC0, 0x1DFF},   {0x200B, 0x200F},   {0x202A, 0x202E},   {0x2060, 0x206F},
    {0x20D0, 0x20F0},   {0x2CEF, 0x2CF1},   {0x2DE0, 0x2DFF},   {0x302A, 0x302D},
    {0x3099, 0x309A},   {0xA66F, 0xA672},   {0xA674, 0xA67D},   {0xA69E, 0xA69F},
    {0xA6F0, 0xA6F1},   {0xA802, 0xA802},   {0xA806, 0xA806},   {0xA80B, 0xA80B},
    {0xA825, 0xA826},   {0xD7B0, 0xD7FF},   {0xFB1E, 0xFB1E},   {0xFE00, 0xFE0F},
    {0xFE20, 0xFE2F},   {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},   {0x1D167, 0x1D169},
    {0x1D17B, 0x1D182}, {0x1D185, 0x1D18B}, {0x1D1AA, 0x1D1AD}, {0xE0001, 0xE0001},
    {0xE0020, 0xE007F}, {0xE0100, 0xE01EF},
};

/* Code points that occupy two cells: East Asian Wide and Fullwidth blocks, and the emoji
 * blocks that terminals draw wide. Sorted, non-overlapping. */
static const struct sanitize_range wide_ranges[] = {
    {0x1100, 0x115F},   /* Hangul initial jamo */
    {0x231A, 0x231B},   /* watch, hourglass */
    {0x2329, 0x232A},   /* angle brackets */
    {0x23E9, 0x23EC},   /* media control emoji */
    {0x23F0, 0x23F0},   /* alarm clock */
    {0x23F3, 0x23F3},   /* hourglass with flowing sand */
    {0x25FD, 0x25FE},   /* medium small squares */
    {0x2614, 0x2615},   /* umbrella, hot beverage */
    {0x2648, 0x2653},   /* zodiac */
    {0x26A1, 0x26A1},   /* high voltage */
    {0x26AA, 0x26AB},   /* circles */
    {0x26BD, 0x26BE},   /* soccer, baseball */
    {0x26C4, 0x26C5},   /* snowman, sun behind cloud */
    {0x26D4, 0x26D4},   /* no entry */
    {0x26EA, 0x26EA},   /* church */
    {0x26F2, 0x26F5},   /* fountain .. sailboat */
    {0x26FA, 0x26FA},   /* tent */
    {0x26FD, 0x26FD},   /* fuel pump */
    {0x2705, 0x2705},   /* check mark button */
    {0x270A, 0x270B},   /* raised fist, raised hand */
    {0x2728, 0x2728},   /* sparkles */
    {0x274C, 0x274C},   /* cross mark */
    {0x2753, 0x2755},   /* question and exclamation marks */
    {0x2757, 0x2757},   /* heavy exclamation mark */
    {0x2795, 0x2797},   /* heavy plus, minus, division */
    {0x27B0, 0x27B0},   /* curly loop */
    {0x27BF, 0x27BF},   /* double curly loop */
    {0x2B1B, 0x2B1C},   /* large squares */
    {0x2B50, 0x2B50},   /* star */
    {0x2B55, 0x2B55},   /* heavy large circle */
    {0x2E80, 0x303E},   /* CJK radicals, Kangxi, ideographic description, CJK punctuation */
    {0x3041, 0x33FF},   /* Hiragana, Katakana, Bopomofo, Hangul compatibility jamo, .. */
    {0x3400, 0x4DBF},   /* CJK extension A */
    {0x4E00, 0x9FFF},   /* CJK unified ideographs */
    {0xA000, 0xA4CF},   /* Yi */
    {0xA960, 0xA97F},   /* Hangul jamo extended A */
    {0xAC00, 0xD7A3},   /* Hangul syllables */
    {0xF900, 0xFAFF},   /* CJK compatibility ideographs */
    {0xFE10, 0xFE19},   /* vertical forms */
    {0xFE30, 0xFE6F},   /* CJK compatibility forms, small form variants */
    {0xFF00, 0xFF60},   /* fullwidth forms */
    {0xFFE0, 0xFFE6},   /* fullwidth signs */
    {0x16FE0, 0x16FE4}, /* ideographic symbols */
    {0x17000, 0x18CFF}, /* Tangut, Khitan */
    {0x1B000, 0x1B2FF}, /* Kana supplement, Nushu */
    {0x1F004, 0x1F004}, /* mahjong red dragon */
    {0x1F0CF, 0x1F0CF}, /* joker */
    {0x1F18E, 0x1F18E}, /* AB button */
    {0x1F191, 0x1F19A}, /* squared words */
    {0x1F200, 0x1F251}, /* enclosed ideographic supplement */
    {0x1F300, 0x1F64F}, /* pictographs, emoticons */
    {0x1F680, 0x1F6FF}, /* transport and map symbols */
    {0x1F7E0, 0x1F7EB}, /* coloured circles and squares */
    {0x1F90C, 0x1F9FF}, /* supplemental symbols and pictographs */
    {0x1FA70, 0x1FAFF}, /* symbols and pictographs extended A */
    {0x20000, 0x2FFFD}, /* CJK extensions B..F, compatibility supplement */
    {0x30000, 0x3FFFD}, /* CJK extension G and later */
};

#define SANITIZE_COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* The longest unit: "\u{10FFFF}" is 10 bytes; a UTF-8 character is at most 4. */
#define SANITIZE_UNIT_MAX 16

static bool sanitize_in_ranges(uint32_t code_point, const struct sanitize_range *ranges,
                               size_t count)
{
    size_t low = 0, high = count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (code_point < ranges[middle].first)
            high = middle;
        else if (code_point > ranges[middle].last)
            low = middle + 1;
        else
            return true;
    }
    return false;
}

/* Decodes one well-formed UTF-8 character at s[0..n). Returns its length (1..4) and stores the
 * code point, or returns 0 when s[0] does not start a well-formed sequence. */
static size_t sanitize_decode_utf8(const unsigned char *s, size_t n, uint32_t *code_point)
{
    if (s[0] < 0x80) {
        *code_point = s[0];
        return 1;
    }
    for (size_t row = 0; row < SANITIZE_COUNT(utf8_leads); row++) {
        const struct utf8_lead *lead = &utf8_leads[row];
        if (s[0] < lead->lead_first || s[0] > lead->lead_last)
            continue;
        if (n < lead->length || s[1] < lead->second_first || s[1] > lead->second_last)
            return 0;
        uint32_t value = s[0] & ((1u << lead->payload_bits) - 1);
        for (size_t i = 1; i < lead->length; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return 0;
            value = (value << 6) | (s[i] & 0x3F);
        }
        *code_point = value;
        return lead->length;
    }
    return 0;
}

static size_t sanitize_hex_byte(char *unit, unsigned value)
{
    static const char hex[] = "0123456789abcdef";
    unit[0] = '\\';
    unit[1] = 'x';
    unit[2] = hex[(value >> 4) & 0xF];
    unit[3] = hex[value & 0xF];
    return 4;
}

static size_t sanitize_unicode_escape(char *unit, uint32_t code_point)
{
    static const char hex[] = "0123456789ABCDEF";
    int digits = code_point > 0xFFFFF ? 6 : code_point > 0xFFFF ? 5 : 4;
    size_t length = 0;
    unit[length++] = '\\';
    unit[length++] = 'u';
    unit[length++] = '{';
    for (int digit = digits - 1; digit >= 0; digit--)
        unit[length++] = hex[(code_point >> (4 * digit)) & 0xF];
    unit[length++] = '}';
    return length;
}

/* Produces the output unit for the input at in[0..n): stores it in unit and returns its length;
 * *consumed receives the number of input bytes it stands for (at least 1). */
static size_t sanitize_next_unit(const unsigned char *in, size_t n, bool utf8, char *unit,
                                 size_t *consumed)
{
    unsigned char byte = in[0];
    *consumed = 1;
    if (byte < 0x20) {
        if (c0_letters[byte]) {
            unit[0] = '\\';
            unit[1] = c0_letters[byte];
            return 2;
        }
        return sanitize_hex_byte(unit, byte);
    }
    if (byte == 0x7F)
        return sanitize_hex_byte(unit, byte);
    if (byte < 0x80) {
        unit[0] = (char)byte;
        return 1;
    }
    if (!utf8)
        return sanitize_hex_byte(unit, byte);

    uint32_t code_point = 0;
    size_t length = sanitize_decode_utf8(in, n, &code_point);
    if (length == 0)
        return sanitize_hex_byte(unit, byte); /* invalid: this byte alone, then resync */
    *consumed = length;
    if (code_point <= 0x9F)
        return sanitize_hex_byte(unit, code_point); /* C1 control */
    if (sanitize_in_ranges(code_point, invisible_ranges, SANITIZE_COUNT(invisible_ranges)))
        return sanitize_unicode_escape(unit, code_point);
    memcpy(unit, in, length);
    return length;
}

size_t sanitize_string(const char *in, size_t inlen, char *out, size_t outlen, bool utf8)
{
    if (outlen == 0)
        return 0;
    const unsigned char *bytes = (const unsigned char *)in;
    size_t written = 0, position = 0;
    while (position < inlen) {
        char unit[SANITIZE_UNIT_MAX];
        size_t consumed = 0;
        size_t length =
            sanitize_next_unit(bytes + position, inlen - position, utf8, unit, &consumed);
        if (length > outlen - 1 - written)
            break; /* truncate on a unit boundary */
        memcpy(out + written, unit, length);
        written += length;
        position += consumed;
    }
    out[written] = '\0';
    return written;
}

char *sanitize_dup(const char *in, bool utf8)
{
    if (!in)
        return xstrdup("");
    size_t inlen = strlen(in);
    /* Worst case 4 output bytes per input byte ("\xNN"; "\u{XXXX}" is at most 10 for 3 or 4
     * input bytes). */
    size_t capacity = 4 * inlen + 1;
    char *out = xmalloc(capacity);
    size_t length = sanitize_string(in, inlen, out, capacity, utf8);
    return xrealloc(out, length + 1);
}

size_t sanitize_display_width(const char *s, bool utf8)
{
    if (!s)
        return 0;
    const unsigned char *bytes = (const unsigned char *)s;
    size_t remaining = strlen(s), width = 0;
    if (!utf8)
        return remaining;
    while (remaining > 0) {
        uint32_t code_point = 0;
        size_t length = sanitize_decode_utf8(bytes, remaining, &code_point);
        if (length == 0) {
            width += 1; /* not sanitized: a terminal shows a replacement character */
            length = 1;
        } else if (code_point < 0x20 || (code_point >= 0x7F && code_point <= 0x9F)) {
            /* controls occupy no cell (and never survive sanitize_string) */
        } else if (sanitize_in_ranges(code_point, zero_width_ranges,
                                      SANITIZE_COUNT(zero_width_ranges))) {
            /* combining or format character */
        } else if (sanitize_in_ranges(code_point, wide_ranges, SANITIZE_COUNT(wide_ranges))) {
            width += 2;
        } else {
            width += 1;
        }
        bytes += length;
        remaining -= length;
    }
    return width;
}

void sanitize_json_string(FILE *out, const char *raw)
{
    if (!raw) {
        fputs("null", out);
        return;
    }
    char *safe = sanitize_dup(raw, true);
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)safe; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
    free(safe);
}

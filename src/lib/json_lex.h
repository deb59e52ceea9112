/*
 * json_lex: the lexing primitives shared by the object scanner
 * (json_scan.c), the tree parser (json_tree.c) and the string escaper
 * (json_put.c), inline so that the hot loops cost no call. Each takes the text
 * as [p, end) and returns where the token ends, or NULL when it is not one;
 * none reads at or past end.
 *
 * Two flavours where the scanner and the parser differ: the scanner is
 * stricter than yajl (RFC 3629 UTF-8, the four RFC 8259 whitespace bytes),
 * while the parser takes exactly what yajl 2.1's lexer takes (any lead byte
 * with the right count of continuation bytes, and \v and \f as whitespace),
 * so that its verdicts stay yajl's. The escaper's UTF-8 is the parser's:
 * yajl_gen_string() checks by that same rule.
 */
#ifndef CQ_JSON_LEX_H
#define CQ_JSON_LEX_H

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef const unsigned char *lex_ptr;

/*
 * Byte classes, so that the loops over whitespace, string bodies and digits
 * test one table entry per byte instead of two to five ranges.
 */
#define LEX_WS    1  /* Space, tab, CR, LF. */
#define LEX_PLAIN 2  /* A string byte that needs no look: 0x20-0x7F but " \. */
#define LEX_VF    4  /* \v and \f, whitespace to yajl only. */
#define LEX_HIGH  8  /* 0x80-0xFF: plain in text known to be UTF-8. */
#define LEX_DIGIT 16 /* 0-9. */

/* How a string's UTF-8 is checked (see above). */
#define LEX_STRICT 0
#define LEX_LOOSE  1
#define LEX_KNOWN  2

static const unsigned char lex_cls[256] = {
#define P4(c, k)  [c] = k, [c + 1] = k, [c + 2] = k, [c + 3] = k
#define P16(c, k) P4(c, k), P4(c + 4, k), P4(c + 8, k), P4(c + 12, k)
#define PL        LEX_PLAIN
#define DG        (LEX_PLAIN | LEX_DIGIT)
    ['\t'] = LEX_WS,     ['\n'] = LEX_WS,     ['\r'] = LEX_WS,
    ['\v'] = LEX_VF,     ['\f'] = LEX_VF,     [' '] = LEX_WS | PL,
    [0x21] = PL,         P4(0x23, PL),        P4(0x27, PL),
    P4(0x2B, PL),        [0x2F] = PL,         P4(0x30, DG),
    P4(0x34, DG),        [0x38] = DG,         [0x39] = DG,
    [0x3A] = PL,         [0x3B] = PL,         P4(0x3C, PL),
    P16(0x40, PL),       P4(0x50, PL),        P4(0x54, PL),
    P4(0x58, PL),        [0x5D] = PL,         [0x5E] = PL,
    [0x5F] = PL,         P16(0x60, PL),       P16(0x70, PL),
    P16(0x80, LEX_HIGH), P16(0x90, LEX_HIGH), P16(0xA0, LEX_HIGH),
    P16(0xB0, LEX_HIGH), P16(0xC0, LEX_HIGH), P16(0xD0, LEX_HIGH),
    P16(0xE0, LEX_HIGH), P16(0xF0, LEX_HIGH),
#undef DG
#undef PL
#undef P16
#undef P4
};

/*
 * Past the whitespace of class mask (LEX_WS, or LEX_WS | LEX_VF) from p.
 * Compact JSON has none, and no byte over a space is any: one test, then.
 */
static inline lex_ptr lex_skip_ws(lex_ptr p, lex_ptr end, unsigned mask)
{
    if (p<end && * p> ' ')
        return p;
    while (p < end && (lex_cls[*p] & mask))
        p++;
    return p;
}


#if defined(__SSE2__)
/*
 * A bit for each of the 16 bytes at p that ends a plain stretch (see
 * lex_skip_text()): a byte being plain unless, read as signed, it is under
 * 0x20 (which takes in 0x80 and more) or it is a quote or a backslash.
 * Always inline: left to GCC 12's later inlining, the scanner's loop
 * compiles some 20 instructions an event longer.
 */
static inline __attribute__((always_inline)) int lex_stops16(lex_ptr p,
                                                             int known)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i low = known ? _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1F)),
                                         _mm_set1_epi8(0x1F))
                        : _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));

    return _mm_movemask_epi8(_mm_or_si128(
        low, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                          _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')))));
}
#endif


/*
 * Past 32-byte blocks of plain bytes from p (see lex_skip_text()), one test
 * a block where SSE2 is; stops less than 32 bytes before end or at the
 * block that holds a stop, for lex_skip_text() to go on from. Only the
 * escaper takes it, on long strings, where a turn of lex_skip_text()'s loop
 * costs as much as its compares: in the parser's and the scanner's loops
 * its code cost more on their short strings than it saved on long ones.
 */
static inline lex_ptr lex_skip_long(lex_ptr p, lex_ptr end, int known)
{
#if defined(__SSE2__)
    while (end - p >= 32 &&
           (lex_stops16(p, known) | lex_stops16(p + 16, known)) == 0)
        p += 32;
#else
    (void)end;
    (void)known;
#endif
    return p;
}


/*
 * Past the plain bytes of a string body from p: sixteen at a time where
 * SSE2 is (every x86-64), by lex_stops16(); then eight at a time, then one
 * at a time by the table. In an eight-byte block's mask, a byte's high bit
 * is set when it is under 0x20, a quote or a backslash (the usual zero-byte
 * test, whose borrows only run towards later bytes) or 0x80 or more, and
 * clear for every plain byte before the first such one: so on a
 * little-endian machine the lowest bit set tells where the plain bytes end.
 * When known (text known to be UTF-8), bytes of 0x80 and more are plain
 * too: under 0x20 is then unsigned, and the block's mask leaves out their
 * high bits.
 */
static inline lex_ptr lex_skip_text(lex_ptr p, lex_ptr end, int known)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t x, m;

#if defined(__SSE2__)
    while (end - p >= 16) {
        int bits = lex_stops16(p, known);

        if (bits != 0)
            return p + __builtin_ctz((unsigned)bits);
        p += 16;
    }
#endif
    while (end - p >= 8) {
        memcpy(&x, p, 8);
        m = ((x - ones * 0x20) | ((x ^ (ones * '"')) - ones) |
             ((x ^ (ones * '\\')) - ones));
        m = (known ? m & ~x : m | x) & highs;
        if (m != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return p + (__builtin_ctzll(m) >> 3);
#else
            break;
#endif
        }
        p += 8;
    }
    while (p < end &&
           (lex_cls[*p] & (known ? LEX_PLAIN | LEX_HIGH : LEX_PLAIN)))
        p++;
    return p;
}


/* lex_skip_text() for text not known to be UTF-8. */
static inline lex_ptr lex_skip_plain(lex_ptr p, lex_ptr end)
{
    return lex_skip_text(p, end, 0);
}


/*
 * The end of the UTF-8 sequence that starts at p (a byte of 0x80 or more).
 * Strict, by RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF. Loose, as yajl's lexer: a lead byte 0xC0-0xF7 and as many bytes
 * 0x80-0xBF as it announces. NULL when it is not one.
 */
static inline lex_ptr lex_utf8_end(lex_ptr p, lex_ptr end, int loose)
{
    unsigned c = *p, lo = 0x80, hi = 0xBF;
    int n;

    /* Three bytes first, as most CJK text is: leads 0xE1-0xEC, on which
     * neither rule has an exception, cost one test a byte. */
    if (c - 0xE1 < 0xC && end - p > 2 && (p[1] & 0xC0) == 0x80 &&
        (p[2] & 0xC0) == 0x80)
        return p + 3;
    if (c >= (loose ? 0xC0u : 0xC2u) && c <= 0xDF)
        n = 1;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 2;
    else if (c >= 0xF0 && c <= (loose ? 0xF7u : 0xF4u))
        n = 3;
    else
        return NULL;
    /* The second byte's range is what rules out the forms above. */
    if (loose)
        ;
    else if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (end - p <= n || p[1] < lo || p[1] > hi)
        return NULL;
    for (p += 2; --n > 0; p++)
        if ((*p & 0xC0) != 0x80)
            return NULL;
    return p;
}


static inline int lex_is_hex(unsigned c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}


/*
 * The rest of a string from p, a byte past its opening quote: as
 * lex_skip_string(), with UTF-8 checked as lex_utf8_end() does (LEX_STRICT
 * or LEX_LOOSE), or not at all (LEX_KNOWN).
 */
static inline lex_ptr lex_skip_string_rest(lex_ptr p, lex_ptr end, int *escaped,
                                           int utf8)
{
    for (; p < end; p++) {
        unsigned c;

        /* Most bytes are plain ASCII: past them in a tight loop. */
        p = lex_skip_text(p, end, utf8 == LEX_KNOWN);
        if (p == end)
            break;
        c = *p;
        if (c == '"')
            return p + 1;
        if (c < 0x20)
            return NULL;
        if (c >= 0x80) {
            /* Multi-byte text (CJK) comes in runs: checked in one loop. */
            do {
                if ((p = lex_utf8_end(p, end, utf8 == LEX_LOOSE)) == NULL)
                    return NULL;
            } while (p < end && *p >= 0x80);
            p--;
        } else if (c == '\\') {
            *escaped = 1;
            if (++p == end)
                return NULL;
            if (*p == 'u') {
                if (end - p <= 4 || !lex_is_hex(p[1]) || !lex_is_hex(p[2]) ||
                    !lex_is_hex(p[3]) || !lex_is_hex(p[4]))
                    return NULL;
                p += 4;
            } else if (strchr("\"\\/bfnrt", *p) == NULL || *p == '\0') {
                return NULL;
            }
        }
    }
    return NULL;
}


/*
 * Skips the string whose opening quote is at p; returns what follows its
 * closing quote, or NULL when it is not a valid string (UTF-8 as utf8 says:
 * LEX_STRICT, LEX_LOOSE or LEX_KNOWN). *escaped is set when it holds an
 * escape. The usual string (plain ASCII only) costs no call.
 */
static inline lex_ptr lex_skip_string(lex_ptr p, lex_ptr end, int *escaped,
                                      int utf8)
{
    lex_ptr q = lex_skip_text(p + 1, end, utf8 == LEX_KNOWN);

    *escaped = 0;
    if (q < end && *q == '"')
        return q + 1;
    return lex_skip_string_rest(q, end, escaped, utf8);
}


/*
 * Past the digits from p (NULL when there is none): sixteen at a time where
 * SSE2 is, a byte being a digit unless, read as signed, it is under '0'
 * (which takes in 0x80 and more) or over '9'.
 */
static inline lex_ptr lex_skip_digits(lex_ptr p, lex_ptr end)
{
    lex_ptr start = p;

#if defined(__SSE2__)
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        int bits = _mm_movemask_epi8(
            _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8('0')),
                         _mm_cmpgt_epi8(v, _mm_set1_epi8('9'))));

        if (bits != 0) {
            p += __builtin_ctz((unsigned)bits);
            return p > start ? p : NULL;
        }
        p += 16;
    }
#endif
    while (p < end && (lex_cls[*p] & LEX_DIGIT))
        p++;
    return p > start ? p : NULL;
}


/*
 * Skips a number, true, false or null at p (before end); NULL when there is
 * none. The grammar is RFC 8259's, which is yajl's too.
 */
static inline lex_ptr lex_skip_scalar(lex_ptr p, lex_ptr end)
{
    /* Each word's length known here, its test is one or two loads. */
    if (*p == 't' || *p == 'n')
        return end - p >= 4 && memcmp(p, *p == 't' ? "true" : "null", 4) == 0
                   ? p + 4
                   : NULL;
    if (*p == 'f')
        return end - p >= 5 && memcmp(p, "false", 5) == 0 ? p + 5 : NULL;
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0')
        p++;
    else if ((p = lex_skip_digits(p, end)) == NULL)
        return NULL;
    if (p < end && *p == '.' && (p = lex_skip_digits(p + 1, end)) == NULL)
        return NULL;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        p = lex_skip_digits(p, end);
    }
    return p;
}

#endif

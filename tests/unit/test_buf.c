#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/buf.h"
#include "test.h"

T_CASE(add_and_terminate)
{
    cq__buf b;
    char *p;

    cq__buf_init(&b, 100);
    T_EQ_INT(cq__buf_addstr(&b, "ab"), CQ_OK);
    T_EQ_INT(cq__buf_printf(&b, "%d-%s", 7, "x"), CQ_OK);
    T_EQ_STR(b.data, "ab7-x");
    T_EQ_INT(b.len, 5);
    cq__buf_reset(&b);
    T_EQ_STR(b.data, "");
    T_EQ_INT(cq__buf_add(&b, "a\0b", 3), CQ_OK);
    T_EQ_INT(b.len, 3);
    p = cq__buf_detach(&b);
    T_CHECK(p != NULL && p[3] == '\0' && b.data == NULL);
    free(p);
}


T_CASE(cap_frees)
{
    cq__buf b;
    char big[64];

    memset(big, 'x', sizeof(big));
    cq__buf_init(&b, 100);
    T_EQ_INT(cq__buf_add(&b, big, 64), CQ_OK);
    T_EQ_INT(cq__buf_add(&b, big, 36), CQ_OK);
    T_EQ_INT(b.len, 100);
    T_EQ_INT(cq__buf_add(&b, big, 1), CQ_ETOOBIG);
    T_CHECK(b.data == NULL && b.len == 0);
    /* A freed buffer can be used again, under the same cap. */
    T_EQ_INT(cq__buf_add(&b, big, 10), CQ_OK);
    T_EQ_INT(cq__buf_printf(&b, "%0200d", 1), CQ_ETOOBIG);
    cq__buf_free(&b);
    cq__buf_free(NULL);
}


T_CASE(add_uint)
{
    cq__buf b;

    cq__buf_init(&b, 100);
    T_EQ_INT(cq__buf_add_uint(&b, 0), CQ_OK);
    T_EQ_INT(cq__buf_addstr(&b, " "), CQ_OK);
    T_EQ_INT(cq__buf_add_uint(&b, 204), CQ_OK);
    T_EQ_INT(cq__buf_addstr(&b, " "), CQ_OK);
    T_EQ_INT(cq__buf_add_uint(&b, 18446744073709551615ull), CQ_OK);
    T_EQ_STR(b.data, "0 204 18446744073709551615");
    cq__buf_free(&b);
    cq__buf_init(&b, 2);
    T_EQ_INT(cq__buf_add_uint(&b, 100), CQ_ETOOBIG);
    cq__buf_free(&b);
}


/* Lent memory holds the contents until they outgrow it, then they move to
 * memory of the buffer's own; the lent memory is never freed (on the
 * stack here, so that freeing it would fail under the sanitizers). */
T_CASE(lent_memory)
{
    char mem[8], *p;
    cq__buf b;

    cq__buf_init_in(&b, 100, mem, sizeof(mem));
    T_EQ_INT(cq__buf_addstr(&b, "abc"), CQ_OK);
    T_CHECK(b.data == mem);
    p = cq__buf_detach(&b);
    T_CHECK(p != NULL && p != mem);
    T_EQ_STR(p, "abc");
    free(p);
    cq__buf_init_in(&b, 100, mem, sizeof(mem));
    T_EQ_INT(cq__buf_addstr(&b, "abcdefg"), CQ_OK);
    T_CHECK(b.data == mem);
    T_EQ_INT(cq__buf_addstr(&b, "hij"), CQ_OK);
    T_CHECK(b.data != mem);
    T_EQ_STR(b.data, "abcdefghij");
    cq__buf_free(&b);
    cq__buf_init_in(&b, 4, mem, sizeof(mem));
    T_EQ_INT(cq__buf_addstr(&b, "abcdefg"), CQ_ETOOBIG);
    T_CHECK(b.data == NULL);
    cq__buf_free(&b);
}


T_SUITE(test_buf_cases) = {
    {"buf/add_and_terminate", add_and_terminate},
    {"buf/cap_frees", cap_frees},
    {"buf/add_uint", add_uint},
    {"buf/lent_memory", lent_memory},
    {NULL, NULL},
};

/*
 * Helpers shared by the message tests (test_message.c, test_message_cq.c,
 * test_message_json.c), defined in test_message.c.
 */
#ifndef CQ_TEST_MESSAGE_H
#define CQ_TEST_MESSAGE_H

#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "test.h"

/* Checks that expr (a new string, freed here) equals want. */
#define T_STR_FREE(expr, want)                                                 \
    do {                                                                       \
        char *t_s_ = (expr);                                                   \
        const char *t_w_ = (want);                                             \
        int t_ok_ = t_s_ != NULL && t_w_ != NULL && strcmp(t_s_, t_w_) == 0;   \
        if (!t_ok_) {                                                          \
            fprintf(stderr, "  got  \"%s\"\n  want \"%s\"\n",                  \
                    t_s_ ? t_s_ : "(null)", t_w_ ? t_w_ : "(null)");           \
        }                                                                      \
        free(t_s_);                                                            \
        if (!t_ok_) {                                                          \
            t_fail(t, __FILE__, __LINE__, #expr " == " #want);                 \
            return;                                                            \
        }                                                                      \
    } while (0)

/* Returns 1 when a and b hold the same segments, parameters and flags. */
int t_msg_eq(const cq_msg *a, const cq_msg *b);

/* Reads the array form and returns it written by write (cq_msg_format_cq or
 * cq_msg_to_json_string), or NULL. */
char *t_json_to(const char *json, char *(*write)(const cq_msg *));

#endif

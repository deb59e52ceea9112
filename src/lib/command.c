#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/command.h"
#include "lib/ctx.h"

/* The prefixes when command_prefix is not set. */
#define DEFAULT_PREFIX "/"

struct cq__command {
    char *word;  /* NULL: the event is not a command. */
    char *arg;   /* Trimmed; "" when none. */
    char **argv; /* Pointers into words. */
    size_t argc;
    char *words; /* A copy of arg, cut at white space. */
};

/* The length of the white space character at s (ASCII or U+3000), or 0. */
static size_t space_at(const char *s)
{
    if (*s != '\0' && strchr(" \t\r\n\f\v", *s) != NULL)
        return 1;
    return strncmp(s, "\xe3\x80\x80", 3) == 0 ? 3 : 0;
}


static const char *skip_space(const char *s)
{
    size_t n;

    while ((n = space_at(s)) > 0)
        s += n;
    return s;
}


/*
 * Does the message start with text once a leading reply segment, at
 * segments addressed to the bot and white space are skipped? An at to
 * anyone else, or any other segment first, means it is not a command.
 */
static int starts_with_text(const cq_msg *m, int64_t self_id)
{
    char self[24];
    size_t i, n = cq_msg_count(m);

    snprintf(self, sizeof(self), "%" PRId64, self_id);
    for (i = 0; i < n; i++) {
        const char *type = cq_msg_seg_type(m, i);
        const char *qq = cq_msg_seg_get(m, i, "qq");
        const char *text = cq_msg_seg_get(m, i, "text");

        if (strcmp(type, "reply") == 0 && i == 0)
            continue;
        if (strcmp(type, "at") == 0 && qq != NULL && strcmp(qq, self) == 0)
            continue;
        if (strcmp(type, "text") != 0 || text == NULL)
            return 0;
        if (*skip_space(text) != '\0')
            return 1;
    }
    return 0;
}


/*
 * The length of the longest prefix in list (comma-separated; an empty item
 * is the empty prefix) that text starts with, or -1 when none does.
 */
static long match_prefix(const char *list, const char *text)
{
    long best = -1;

    for (;;) {
        size_t n = strcspn(list, ",");

        if ((long)n > best && strncmp(list, text, n) == 0)
            best = (long)n;
        if (list[n] == '\0')
            return best;
        list += n + 1;
    }
}


/* Splits cmd->arg into cmd->argv. Returns CQ_OK or CQ_ENOMEM. */
static int split(struct cq__command *cmd)
{
    size_t max = strlen(cmd->arg) / 2 + 1;
    char *p;

    cmd->words = strdup(cmd->arg);
    cmd->argv = calloc(max, sizeof(char *));
    if (cmd->words == NULL || cmd->argv == NULL)
        return CQ_ENOMEM;
    for (p = cmd->words; *(p = (char *)skip_space(p)) != '\0';) {
        size_t n;

        cmd->argv[cmd->argc++] = p;
        while (*p != '\0' && space_at(p) == 0)
            p++;
        n = space_at(p);
        if (n > 0) {
            memset(p, '\0', n);
            p += n;
        }
    }
    return CQ_OK;
}


/*
 * Reads the command of the message text into cmd (cmd->word stays NULL when
 * the text is none). Returns CQ_OK or CQ_ENOMEM.
 */
static int parse(struct cq__command *cmd, const char *text, const char *list)
{
    long pre = match_prefix(list, text);
    const char *word, *end;

    if (pre < 0)
        return CQ_OK;
    word = text + pre;
    for (end = word; *end != '\0' && space_at(end) == 0;)
        end++;
    if (end == word)
        return CQ_OK;
    cmd->word = strndup(word, (size_t)(end - word));
    cmd->arg = strdup(skip_space(end)); /* The text is trimmed already. */
    if (cmd->word == NULL || cmd->arg == NULL)
        return CQ_ENOMEM;
    return split(cmd);
}


void cq__command_free(struct cq__command *cmd)
{
    if (cmd == NULL)
        return;
    free(cmd->word);
    free(cmd->arg);
    free(cmd->argv);
    free(cmd->words);
    free(cmd);
}


/* The parsed command of c's event (parsing it now), or NULL. */
static struct cq__command *command(const cq_ctx *cc)
{
    cq_ctx *c = (cq_ctx *)cc; /* The cache is c's own, on its own thread. */
    const cq_event *e = c != NULL ? c->event : NULL;
    const char *post = e != NULL ? cq_event_post_type(e) : NULL;
    const char *text, *list;
    cq_msg *m = NULL;
    int rc;

    if (c == NULL || c->command != NULL)
        return c != NULL ? c->command : NULL;
    if (post == NULL || strcmp(post, "message") != 0 ||
        (c->command = calloc(1, sizeof(*c->command))) == NULL)
        return NULL;
    list = c->conf != NULL && c->conf->command_prefix != NULL
               ? c->conf->command_prefix
               : DEFAULT_PREFIX;
    rc = cq_msg_from_value(&m, cq_event_message(e));
    if (rc == CQ_OK && starts_with_text(m, cq_event_self_id(e)) &&
        (text = cq_event_text(e)) != NULL)
        rc = parse(c->command, text, list);
    cq_msg_free(m);
    if (rc == CQ_ENOMEM) {
        cq__command_free(c->command);
        c->command = calloc(1, sizeof(*c->command)); /* Not a command. */
        cq_log(CQ_LOG_ERROR, "out of memory reading a command");
    }
    return c->command;
}


const char *cq_command_name(const cq_ctx *c)
{
    struct cq__command *cmd = command(c);

    return cmd != NULL ? cmd->word : NULL;
}


const char *cq_command_arg(const cq_ctx *c)
{
    struct cq__command *cmd = command(c);

    return cmd != NULL && cmd->word != NULL ? cmd->arg : NULL;
}


size_t cq_command_argc(const cq_ctx *c)
{
    struct cq__command *cmd = command(c);

    return cmd != NULL && cmd->word != NULL ? cmd->argc : 0;
}


const char *cq_command_argv(const cq_ctx *c, size_t i)
{
    return i < cq_command_argc(c) ? command(c)->argv[i] : NULL;
}

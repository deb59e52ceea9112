#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/names.h"

/*
 * The type tree of PROTOCOL.md section 6: OneBot v11, the 4.x names still
 * sent, and the extensions of go-cqhttp and NapCat that section 6.2 lists.
 * Sub types are space-separated; "" means the type has none.
 */
static const struct {
    const char *post, *detail, *subs;
} tree[] = {
    {"message", "private", "friend group other discuss group_self"},
    {"message", "group", "normal anonymous notice"},
    {"message", "discuss", ""},
    {"message", "guild", "channel"},
    {"notice", "group_upload", ""},
    {"notice", "group_admin", "set unset"},
    {"notice", "group_decrease", "leave kick kick_me"},
    {"notice", "group_increase", "approve invite"},
    {"notice", "group_ban", "ban lift_ban"},
    {"notice", "friend_add", ""},
    {"notice", "group_recall", ""},
    {"notice", "friend_recall", ""},
    {"notice", "notify", "poke lucky_king honor title"},
    {"notice", "group_card", ""},
    {"notice", "offline_file", ""},
    {"notice", "client_status", ""},
    {"notice", "essence", "add delete"},
    {"notice", "group_msg_emoji_like", ""},
    {"request", "friend", ""},
    {"request", "group", "add invite"},
    {"meta_event", "lifecycle", "enable disable connect"},
    {"meta_event", "heartbeat", ""},
};

#define NTREE (sizeof(tree) / sizeof(tree[0]))

/* go-cqhttp's own messages have the message tree. */
static const char *tree_post(const char *post)
{
    return strcmp(post, "message_sent") == 0 ? "message" : post;
}


/* Is word one of the space-separated words of list? */
static int in_list(const char *list, const char *word, size_t len)
{
    const char *p = list;

    while (*p != '\0') {
        size_t n = strcspn(p, " ");

        if (n == len && strncmp(p, word, len) == 0)
            return 1;
        p += n + (p[n] == ' ');
    }
    return 0;
}


/*
 * Edit distance of a and b, up to 3 (longer names count as 3): near enough
 * to tell a misspelling from a post type of the handler's own.
 */
static size_t distance(const char *a, size_t la, const char *b)
{
    size_t lb = strlen(b), row[32], i, j;

    if (la >= 31 || lb >= 31)
        return 3;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t diag = row[0], up;

        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t best = diag + (a[i - 1] != b[j - 1]);

            up = row[j];
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb] < 3 ? row[lb] : 3;
}


/* Appends the valid names under post ("message, message.private, ..."). */
static void list_names(const char *post, char *out, size_t outlen)
{
    size_t used = strlen(out), i;
    const char *tp = tree_post(post);

    used += (size_t)snprintf(out + used, used < outlen ? outlen - used : 0,
                             "; the names under %s are: %s", post, post);
    for (i = 0; i < NTREE && used < outlen; i++) {
        const char *p = tree[i].subs;

        if (strcmp(tree[i].post, tp) != 0)
            continue;
        used += (size_t)snprintf(out + used, outlen - used, ", %s.%s", post,
                                 tree[i].detail);
        while (*p != '\0' && used < outlen) {
            size_t n = strcspn(p, " ");

            used += (size_t)snprintf(out + used, outlen - used, ", %s.%s.%.*s",
                                     post, tree[i].detail, (int)n, p);
            p += n + (p[n] == ' ');
        }
    }
}


/* A command word: not empty, no white space, not starting with '/'. */
static int check_command(const char *name, char *err, size_t errlen)
{
    const char *word = name[7] == '.' ? name + 8 : NULL;

    if (name[7] == '\0')
        return CQ_OK; /* The fallthrough. */
    if (word == NULL || *word == '\0' || strpbrk(word, " \t\r\n") != NULL ||
        *word == '/') {
        snprintf(err, errlen,
                 "bad command name \"%s\": a command is one word, given "
                 "without its prefix (\"weather\", not \"/weather\")",
                 word != NULL ? word : name);
        return CQ_EINVAL;
    }
    return CQ_OK;
}


/* Is post a known post type, or else near one (then *near names it)? */
static int known_post(const char *post, size_t len, const char **near)
{
    static const char *const posts[] = {"message", "notice", "request",
                                        "meta_event", "message_sent"};
    size_t i;

    *near = NULL;
    for (i = 0; i < sizeof(posts) / sizeof(posts[0]); i++) {
        if (strlen(posts[i]) == len && strncmp(posts[i], post, len) == 0)
            return 1;
        if (distance(post, len, posts[i]) <= 2)
            *near = posts[i];
    }
    return 0;
}


int cq__names_check(const char *name, char *err, size_t errlen)
{
    size_t lp = strcspn(name, "."), ld, i;
    const char *detail = name + lp + (name[lp] == '.'), *sub, *near;
    char post[32];

    if (strncmp(name, "command", 7) == 0 && (name[7] == '\0' || name[7] == '.'))
        return check_command(name, err, errlen);
    if (!known_post(name, lp, &near)) {
        if (near == NULL)
            return 1;
        snprintf(err, errlen, "unknown event name \"%s\" (did you mean %s?)",
                 name, near);
        return CQ_EINVAL;
    }
    snprintf(post, sizeof(post), "%.*s", (int)lp, name);
    if (*detail == '\0')
        return CQ_OK;
    ld = strcspn(detail, ".");
    sub = detail + ld + (detail[ld] == '.');
    for (i = 0; i < NTREE; i++)
        if (strcmp(tree[i].post, tree_post(post)) == 0 &&
            strlen(tree[i].detail) == ld &&
            strncmp(tree[i].detail, detail, ld) == 0 &&
            (detail[ld] == '\0' || (strchr(sub, '.') == NULL &&
                                    in_list(tree[i].subs, sub, strlen(sub)))))
            return CQ_OK;
    snprintf(err, errlen, "unknown event name \"%s\"%s", name,
             ld == lp && strncmp(detail, name, lp) == 0
                 ? " (the prefix is doubled: the macro gives the post type)"
                 : "");
    list_names(post, err, errlen);
    return CQ_EINVAL;
}

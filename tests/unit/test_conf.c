#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cqhttp.h"
#include "lib/conf.h"
#include "test.h"

static int load(cq__conf *c, char **argv, int argc, int *rest, int *nrest,
                char *err)
{
    cq__conf_init(c);
    return cq__conf_load(c, argc, argv, rest, nrest, err, 256);
}


T_CASE(defaults)
{
    char *argv[] = {"prog", NULL};
    int rest[2], nrest;
    char err[256];
    cq__conf c;

    unsetenv("CQHTTP_CONFIG");
    unsetenv("CQHTTP_THREADS");
    T_EQ_INT(load(&c, argv, 1, rest, &nrest, err), CQ_OK);
    T_EQ_INT(c.max_body, 1 << 20);
    T_EQ_INT(c.threads, 4);
    T_CHECK(c.secret == NULL && c.api_root == NULL);
    T_EQ_INT(nrest, 0);
    cq__conf_free(&c);
}


/* Flags beat the environment, which beats the file. */
T_CASE(precedence)
{
    char path[] = "/tmp/cq-conf-XXXXXX";
    char *argv[] = {"prog", "--threads", "7", "--api-root=http://f",
                    "--x",  "pos",       NULL};
    int rest[8], nrest, fd;
    char err[256];
    cq__conf c;
    FILE *f;

    fd = mkstemp(path);
    T_CHECK(fd >= 0);
    f = fdopen(fd, "w");
    fputs("# comment\nsecret = from-file\nthreads=2\n api_root = "
          "http://file \nmax_body = 4096\n",
          f);
    fclose(f);
    setenv("CQHTTP_CONFIG", path, 1);
    setenv("CQHTTP_THREADS", "3", 1);
    setenv("CQHTTP_SECRET", "from-env", 1);
    T_EQ_INT(load(&c, argv, 6, rest, &nrest, err), CQ_OK);
    unsetenv("CQHTTP_CONFIG");
    unsetenv("CQHTTP_THREADS");
    unsetenv("CQHTTP_SECRET");
    unlink(path);
    T_EQ_INT(c.threads, 7);
    T_EQ_STR(c.secret, "from-env");
    T_EQ_STR(c.api_root, "http://f");
    T_EQ_INT(c.max_body, 4096);
    T_EQ_INT(nrest, 2);
    T_EQ_STR(argv[rest[0]], "--x");
    cq__conf_free(&c);
}


T_CASE(bad_values_named)
{
    char *argv[] = {"prog", "--threads", "many", NULL};
    char *argv2[] = {"prog", "--max-body", NULL};
    int rest[4], nrest;
    char err[256];
    cq__conf c;

    T_EQ_INT(load(&c, argv, 3, rest, &nrest, err), CQ_EINVAL);
    T_CHECK(strstr(err, "threads") != NULL && strstr(err, "many") != NULL);
    cq__conf_free(&c);
    T_EQ_INT(load(&c, argv2, 2, rest, &nrest, err), CQ_EINVAL);
    T_CHECK(strstr(err, "needs a value") != NULL);
    cq__conf_free(&c);
    setenv("CQHTTP_LOG_LEVEL", "loud", 1);
    T_EQ_INT(load(&c, argv2, 1, rest, &nrest, err), CQ_EINVAL);
    unsetenv("CQHTTP_LOG_LEVEL");
    T_CHECK(strstr(err, "CQHTTP_LOG_LEVEL") != NULL);
    cq__conf_free(&c);
}


T_CASE(file_errors)
{
    char path[] = "/tmp/cq-conf-XXXXXX";
    char *argv[] = {"prog", "--config", path, NULL};
    char *missing[] = {"prog", "--config=/nonexistent/cq.conf", NULL};
    int rest[4], nrest, fd;
    char err[256];
    cq__conf c;

    fd = mkstemp(path);
    T_CHECK(fd >= 0);
    T_CHECK(write(fd, "threds = 2\n", 11) == 11);
    close(fd);
    T_EQ_INT(load(&c, argv, 3, rest, &nrest, err), CQ_EINVAL);
    unlink(path);
    T_CHECK(strstr(err, ":1: unknown setting \"threds\"") != NULL);
    cq__conf_free(&c);
    T_EQ_INT(load(&c, missing, 2, rest, &nrest, err), CQ_EIO);
    T_CHECK(strstr(err, "/nonexistent/cq.conf") != NULL);
    cq__conf_free(&c);
}


/*
 * The environment file's lines work in a --config file too, quotes and all,
 * and count as environment: no warning for a setting the other program uses.
 */
T_CASE(env_file_lines)
{
    char path[] = "/tmp/cq-conf-XXXXXX";
    char *argv[] = {"prog", "--config", path, NULL};
    int rest[4], nrest, fd;
    char err[256];
    cq__conf c;
    unsigned long long given;
    FILE *f;

    fd = mkstemp(path);
    T_CHECK(fd >= 0);
    T_CHECK(write(fd, "threads = 2\n", 12) == 12);
    close(fd);
    T_EQ_INT(load(&c, argv, 3, rest, &nrest, err), CQ_OK);
    given = c.given;
    cq__conf_free(&c);
    f = fopen(path, "w");
    fputs("#CQHTTP_THREADS=9\nCQHTTP_SECRET=\"s e\"\nCQHTTP_MAX_BODY=4096\n"
          "threads = 2\n",
          f);
    fclose(f);
    T_EQ_INT(load(&c, argv, 3, rest, &nrest, err), CQ_OK);
    T_EQ_STR(c.secret, "s e");
    T_EQ_INT(c.max_body, 4096);
    T_EQ_INT(c.threads, 2);
    T_CHECK(c.given == given);
    cq__conf_free(&c);
    f = fopen(path, "w");
    fputs("CQHTTP_THREDS=2\n", f);
    fclose(f);
    T_EQ_INT(load(&c, argv, 3, rest, &nrest, err), CQ_EINVAL);
    unlink(path);
    T_CHECK(strstr(err, ":1: unknown setting \"CQHTTP_THREDS\"") != NULL);
    cq__conf_free(&c);
}


/* A copy owns its strings: it outlives the original. */
T_CASE(copy_is_deep)
{
    char *argv[] = {
        "prog",     "--api-root=http://a", "--secret", "s", "--threads=3",
        "--listen", "127.0.0.1:1",         NULL};
    int rest[8], nrest;
    char err[256];
    cq__conf c, d;

    unsetenv("CQHTTP_CONFIG");
    T_EQ_INT(load(&c, argv, 7, rest, &nrest, err), CQ_OK);
    T_EQ_INT(cq__conf_copy(&d, &c), CQ_OK);
    T_CHECK(d.api_root != c.api_root && d.secret != c.secret);
    T_CHECK(d.listen != c.listen);
    cq__conf_free(&c);
    T_EQ_STR(d.api_root, "http://a");
    T_EQ_STR(d.secret, "s");
    T_EQ_STR(d.listen, "127.0.0.1:1");
    T_EQ_INT(d.threads, 3);
    T_CHECK(d.access_token == NULL && d.config == NULL);
    cq__conf_free(&d);
}


T_SUITE(test_conf_cases) = {
    {"conf/defaults", defaults},
    {"conf/precedence", precedence},
    {"conf/bad_values_named", bad_values_named},
    {"conf/file_errors", file_errors},
    {"conf/copy_is_deep", copy_is_deep},
    {"conf/env_file_lines", env_file_lines},
    {NULL, NULL},
};

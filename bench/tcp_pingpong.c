/*
 * The floor under "one call at a time": two processes on loopback TCP that
 * pass one 32-byte message back and forth, each blocking in read() until
 * the other answers, with nothing else done. A handler's API call made one
 * at a time is such a round trip (the bridge sends the call, the OneBot
 * side answers), so no stack can make calls one at a time faster than this
 * between the same two cores; on a virtual machine it is mostly the time
 * an idle core takes to wake.
 *
 *   tcp-pingpong N SERVER_CPU CLIENT_CPU
 *       Makes N round trips, the server side pinned to SERVER_CPU and the
 *       echoing side to CLIENT_CPU (-1: not pinned), and prints
 *       "N round trips in S s: R/s".
 */
#define _GNU_SOURCE
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MSG 32


static void pin(int cpu)
{
    cpu_set_t set;

    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0)
        perror("tcp-pingpong: sched_setaffinity");
}


/* Sets TCP_NODELAY, as both the bridge and the load generator do. */
static void nodelay(int fd)
{
    int one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}


/* Reads exactly len bytes; 0, or -1 at end of stream or an error. */
static int read_all(int fd, char *p, size_t len)
{
    while (len > 0) {
        ssize_t r = read(fd, p, len);

        if (r <= 0)
            return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}


/* The echoing side: answers each message until the stream ends. */
static void echo(const struct sockaddr_in *addr, int cpu)
{
    char buf[MSG];
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    pin(cpu);
    if (fd < 0 || connect(fd, (const struct sockaddr *)addr, sizeof(*addr))) {
        perror("tcp-pingpong: connect");
        _exit(1);
    }
    nodelay(fd);
    while (read_all(fd, buf, MSG) == 0) {
        if (write(fd, buf, MSG) != MSG)
            break;
    }
    _exit(0);
}


int main(int argc, char **argv)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t alen = sizeof(addr);
    struct timespec t0, t1;
    char buf[MSG] = "ping";
    long i, n;
    int lfd, fd;
    pid_t child;
    double s;

    if (argc != 4 || (n = atol(argv[1])) <= 0) {
        fprintf(stderr, "usage: tcp-pingpong N SERVER_CPU CLIENT_CPU\n");
        return 2;
    }
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0) {
        perror("tcp-pingpong: listen");
        return 1;
    }
    child = fork();
    if (child < 0) {
        perror("tcp-pingpong: fork");
        return 1;
    }
    if (child == 0)
        echo(&addr, atoi(argv[3]));
    pin(atoi(argv[2]));
    if ((fd = accept(lfd, NULL, NULL)) < 0) {
        perror("tcp-pingpong: accept");
        return 1;
    }
    nodelay(fd);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < n; i++) {
        if (write(fd, buf, MSG) != MSG || read_all(fd, buf, MSG) != 0) {
            perror("tcp-pingpong: round trip");
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    close(fd);
    waitpid(child, NULL, 0);
    s = (double)(t1.tv_sec - t0.tv_sec) +
        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%ld round trips in %.3f s: %.0f/s\n", n, s, (double)n / s);
    return 0;
}

/*
 * A FastCGI responder that reads each request's body and answers 204, with
 * the same thread model as cqhttp-fcgi: the reference that benchmarks put
 * behind the same nginx to separate cqhttp's own cost from the web server's.
 */
#include <pthread.h>
#include <stdlib.h>

#include <fcgiapp.h>

static void *serve(void *arg)
{
    FCGX_Request req;
    char buf[16384];

    (void)arg;
    FCGX_InitRequest(&req, 0, 0);
    while (FCGX_Accept_r(&req) == 0) {
        while (FCGX_GetStr(buf, sizeof(buf), req.in) > 0)
            ;
        FCGX_PutS("Status: 204 No Content\r\n\r\n", req.out);
        FCGX_Finish_r(&req);
    }
    return NULL;
}


int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4, i;
    pthread_t t[256];

    if (n < 1 || n > 256)
        n = 4;
    FCGX_Init();
    for (i = 0; i < n; i++)
        pthread_create(&t[i], NULL, serve, NULL);
    for (i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    return 0;
}

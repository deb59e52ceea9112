/*
 * A FastCGI responder that reads each request's body and answers 204, with
 * the same thread model as cqhttp-fcgi: the reference that benchmarks put
 * behind the same nginx to separate cqhttp's own cost from the web server's.
 *
 *   noop-fcgi [THREADS]
 *       THREADS defaults to 4. NOOP_FCGI_ANSWER in the environment, when
 *       set, is written as it is instead of the 204 (CGI headers, a blank
 *       line and a body): with the example bot's own answer, the reference
 *       pays nginx's cost of a reply with a body too.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

static const char *answer = "Status: 204 No Content\r\n\r\n";


static void *serve(void *arg)
{
    FCGX_Request req;
    char buf[16384];
    int len = (int)strlen(answer);

    (void)arg;
    FCGX_InitRequest(&req, 0, 0);
    while (FCGX_Accept_r(&req) == 0) {
        while (FCGX_GetStr(buf, sizeof(buf), req.in) > 0)
            ;
        FCGX_PutStr(answer, len, req.out);
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
    if (getenv("NOOP_FCGI_ANSWER") != NULL)
        answer = getenv("NOOP_FCGI_ANSWER");
    FCGX_Init();
    for (i = 0; i < n; i++)
        pthread_create(&t[i], NULL, serve, NULL);
    for (i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    return 0;
}

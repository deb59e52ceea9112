/*
 * cqhttp-fcgi: the responder with the handlers of handlers/ linked in. A
 * bot author's own responder is this file with their handlers beside it.
 */
#include <cqhttp_runtime.h>

int main(int argc, char **argv)
{
    return cq_fcgi_main(argc, argv);
}

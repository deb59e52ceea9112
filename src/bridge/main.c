/*
 * cqhttp-bridge: the bridge with the handlers of handlers/ linked in. A bot
 * author's own bridge is this file with their handlers beside it.
 */
#include <cqhttp_runtime.h>

int main(int argc, char **argv)
{
    return cq_bridge_main(argc, argv);
}

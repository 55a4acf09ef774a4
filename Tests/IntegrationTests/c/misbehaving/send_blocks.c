/* A misbehaving transport for FaultContainmentTests (send_blocks): the host must name it and keep serving
 * its other backends. Built from the validator fixture base. */
#define BROKEN_SEND_BLOCKS 1
#define FIXTURE_ID "misbehaving.send-blocks"
#include "../broken/fixture_base.c"

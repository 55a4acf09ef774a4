/* A misbehaving transport for FaultContainmentTests (send_fails): the host must name it and keep serving
 * its other backends. Built from the validator fixture base. */
#define BROKEN_SEND_FAILS 1
#define FIXTURE_ID "misbehaving.send-fails"
#include "../broken/fixture_base.c"

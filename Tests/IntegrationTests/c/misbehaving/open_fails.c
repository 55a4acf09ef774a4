/* A misbehaving transport for FaultContainmentTests (open_fails): the host must name it and keep serving
 * its other backends. Built from the validator fixture base. */
#define BROKEN_OPEN_FAILS 1
#define FIXTURE_ID "misbehaving.open-fails"
#include "../broken/fixture_base.c"

/* A misbehaving transport for FaultContainmentTests (garbage): the host must name it and keep serving
 * its other backends. Built from the validator fixture base. */
#define BROKEN_GARBAGE 1
#define FIXTURE_ID "misbehaving.garbage"
#include "../broken/fixture_base.c"

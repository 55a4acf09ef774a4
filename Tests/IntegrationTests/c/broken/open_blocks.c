/* Broken rule: open returns at once (OPENED or FAILED follows). This one sleeps 300 ms in open.
 * Expected: FAIL transport.open. */
#define BROKEN_OPEN_BLOCKS 1
#define FIXTURE_ID "broken.open-blocks"
#include "fixture_base.c"

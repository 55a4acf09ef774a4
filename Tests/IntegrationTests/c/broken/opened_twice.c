/* Broken rule: open is followed by exactly one of OPENED or FAILED. This one reports OPENED twice.
 * Expected: FAIL transport.callbacks. */
#define BROKEN_OPENED_TWICE 1
#define FIXTURE_ID "broken.opened-twice"
#include "fixture_base.c"

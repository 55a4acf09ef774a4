/* Broken rule: every ABI 1.0 slot of an interface table is set. This one's transport table has
 * no close. Expected: FAIL interface.transport (and the host's loader refuses it: FAIL loader). */
#define BROKEN_MISSING_FUNCTION 1
#define FIXTURE_ID "broken.missing-function"
#include "fixture_base.c"

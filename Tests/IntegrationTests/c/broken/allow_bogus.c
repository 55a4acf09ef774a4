/* Broken rule: allow answers MCPH_ALLOW or MCPH_DENY only. This one answers 7.
 * Expected: FAIL router.allow. */
#define BROKEN_ALLOW_BOGUS 1
#define FIXTURE_ID "broken.allow-bogus"
#include "fixture_base.c"

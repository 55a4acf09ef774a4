/* Broken rule: route is consistent with expose (routing an exposed name forwards to the item's
 * backend and the name expose was given). This one forwards the exposed name itself.
 * Expected: FAIL router.route. */
#define BROKEN_ROUTE_INCONSISTENT 1
#define FIXTURE_ID "broken.route-inconsistent"
#include "fixture_base.c"

/* Broken rule: router functions never block. This one blocks in route for ever; the validator's
 * watchdog must name it instead of hanging. Expected: FAIL router.nonblocking. */
#define BROKEN_ROUTE_BLOCKS 1
#define FIXTURE_ID "broken.route-blocks"
#include "fixture_base.c"

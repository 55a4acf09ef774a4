/* Broken rule: expose is deterministic (the same input gives the same name). This one appends a
 * counter to every exposed name. Expected: FAIL router.expose. */
#define BROKEN_EXPOSE_NONDETERMINISTIC 1
#define FIXTURE_ID "broken.expose-nondeterministic"
#include "fixture_base.c"

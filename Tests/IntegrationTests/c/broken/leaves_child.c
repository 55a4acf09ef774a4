/* Broken rule: a connection ends every process it started (and reaps it) by its terminal event.
 * This one starts `sleep 37.25` in open and forgets it. Expected: FAIL transport.children (the
 * validator kills the process). */
#define BROKEN_LEAVES_CHILD 1
#define FIXTURE_ID "broken.leaves-child"
#include "fixture_base.c"

/* Broken rule: a plugin id uses only [a-z0-9._-]. This one's id has capitals and a space.
 * Expected: FAIL descriptor.id. */
#define FIXTURE_ID "Broken Id"
#include "fixture_base.c"

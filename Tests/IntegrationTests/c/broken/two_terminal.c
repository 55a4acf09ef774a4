/* Broken rule: exactly one terminal event (FAILED or CLOSED) per connection. This one sends
 * CLOSED twice after close. Expected: FAIL transport.close. */
#define BROKEN_TWO_TERMINAL 1
#define FIXTURE_ID "broken.two-terminal"
#include "fixture_base.c"

/* Broken rule: messages round-trip (a request sent is delivered, and its answer comes back). This
 * one swallows initialize. Expected: FAIL transport.round-trip (and abi.old-host, whose connection
 * sends initialize too). */
#define BROKEN_NO_ANSWER 1
#define FIXTURE_ID "broken.no-answer"
#include "fixture_base.c"

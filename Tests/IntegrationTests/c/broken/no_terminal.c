/* Broken rule: close ends the connection with exactly one terminal event within its grace. This one
 * ends without any. Expected: FAIL transport.close (and abi.old-host, which closes a connection too). */
#define BROKEN_NO_TERMINAL 1
#define FIXTURE_ID "broken.no-terminal"
#include "fixture_base.c"

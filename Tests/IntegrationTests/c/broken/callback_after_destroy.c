/* Broken rule: when destroy returns, no callback of the connection runs or follows. This one's
 * destroy does not join the worker thread, which logs through on_log 100 ms later.
 * Expected: FAIL transport.destroy. */
#define BROKEN_CALLBACK_AFTER_DESTROY 1
#define FIXTURE_ID "broken.callback-after-destroy"
#include "fixture_base.c"

/* Broken rule: send never blocks. This one blocks in send for ever; the validator's watchdog must
 * name it instead of hanging. Expected: FAIL transport.send. */
#define BROKEN_SEND_BLOCKS 1
#define FIXTURE_ID "broken.send-blocks"
#include "fixture_base.c"

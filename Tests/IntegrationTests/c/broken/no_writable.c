/* Broken rule: after send answered MCPH_E_AGAIN, one WRITABLE is owed once the queue has room.
 * This one never sends WRITABLE. Expected: FAIL transport.back-pressure. */
#define BROKEN_NO_WRITABLE 1
#define FIXTURE_ID "broken.no-writable"
#include "fixture_base.c"

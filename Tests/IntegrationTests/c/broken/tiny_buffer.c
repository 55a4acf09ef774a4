/* Broken rule: an output buffer too small gets MCPH_E_TOO_SMALL with len set to the size needed.
 * This one truncates the name to the buffer and answers SHOW. Expected: FAIL router.buffers. */
#define BROKEN_TINY_BUFFER 1
#define FIXTURE_ID "broken.tiny-buffer"
#include "fixture_base.c"

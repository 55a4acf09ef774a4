/* Broken rule: fields past the struct_size the host declared are absent. This one reads
 * mcph_host.state_dir (ABI 1.2) without checking struct_size; an ABI 1.0 host's bytes there are
 * garbage, and following them crashes. Expected: FAIL abi.old-host. */
#define BROKEN_READS_PAST_HOST 1
#define FIXTURE_ID "broken.reads-past-host"
#include "fixture_base.c"

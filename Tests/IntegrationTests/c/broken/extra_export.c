/* Broken rule: a plugin exports only mcph_plugin_entry_v1. This one also exports
 * fixture_extra_symbol, which could interpose a symbol of the host or of another plugin.
 * Expected: FAIL exports. */
#define BROKEN_EXTRA_EXPORT 1
#define FIXTURE_ID "broken.extra-export"
#include "fixture_base.c"

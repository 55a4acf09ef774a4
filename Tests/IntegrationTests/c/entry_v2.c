/* A plugin built for a future ABI 2: it exports only mcph_plugin_entry_v2, so a v1 host's dlsym misses. */
#include "mcph_plugin.h"

__attribute__((visibility("default"))) const void *mcph_plugin_entry_v2(void) { return 0; }

/* A plugin whose init refuses (e.g. a missing dependency): the host must log the reason and go on. */
#include "mcph_plugin.h"
#include <stdio.h>

static mcph_status p_init(const mcph_host *h, void **s, char *e, size_t n) {
    (void)h; (void)s;
    snprintf(e, n, "libfoo.so.3 is not installed");
    return MCPH_E_FAILED;
}
static const void *p_iface(void *s, const char *id) { (void)s; (void)id; return 0; }
static const mcph_plugin_descriptor d = {
    sizeof(mcph_plugin_descriptor), MCPH_ABI_MAJOR, MCPH_ABI_MINOR, "test.failing-init", "failing init", "1.0", 0,
    MCPH_KIND_TRANSPORT, p_init, p_iface, 0,
};
MCPH_EXPORT const mcph_plugin_descriptor *mcph_plugin_entry_v1(void) { return &d; }

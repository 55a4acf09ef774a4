/* A plugin whose descriptor claims ABI major 2 behind the v1 entry symbol: the host must refuse it. */
#include "mcph_plugin.h"

static mcph_status p_init(const mcph_host *h, void **s, char *e, size_t n) { (void)h; (void)e; (void)n; *s = 0; return MCPH_OK; }
static const void *p_iface(void *s, const char *id) { (void)s; (void)id; return 0; }
static const mcph_plugin_descriptor d = {
    sizeof(mcph_plugin_descriptor), 2, 0, "test.wrong-major", "wrong major", "1.0", 0, MCPH_KIND_TRANSPORT, p_init, p_iface, 0,
};
MCPH_EXPORT const mcph_plugin_descriptor *mcph_plugin_entry_v1(void) { return &d; }

/* Compile-time checks of the ABI's fixed layouts. This target exports no symbols. */
#include "mcph_plugin.h"

_Static_assert(sizeof(mcph_status) == 4, "mcph_status is 32-bit");
_Static_assert(offsetof(mcph_bytes, ptr) == 0, "mcph_bytes.ptr first");
_Static_assert(sizeof(mcph_bytes) == 4 * sizeof(void *), "mcph_bytes is four words");
_Static_assert(offsetof(mcph_plugin_descriptor, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(mcph_host, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(mcph_conn_callbacks, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(mcph_transport_v1, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(mcph_router_v1, struct_size) == 0, "struct_size first");

/* The 1.0 sizes are frozen: these values (LP64) may never change within major 1. */
#if defined(__LP64__)
_Static_assert(MCPH_HOST_SIZE_1_0 == 40, "mcph_host 1.0 size");
_Static_assert(MCPH_DESCRIPTOR_SIZE_1_0 == 72, "mcph_plugin_descriptor 1.0 size");
_Static_assert(MCPH_CONN_CALLBACKS_SIZE_1_0 == 40, "mcph_conn_callbacks 1.0 size");
_Static_assert(MCPH_TRANSPORT_SIZE_1_0 == 48, "mcph_transport_v1 1.0 size");
_Static_assert(MCPH_ROUTER_SIZE_1_0 == 24, "mcph_router_v1 1.0 size");
_Static_assert(MCPH_CONN_CALLBACKS_SIZE_1_3 == 48, "mcph_conn_callbacks 1.3 size");
#endif

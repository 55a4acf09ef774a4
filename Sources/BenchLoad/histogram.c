/* Latency histogram of mcp-bench-load (see histogram.h). */
#include "histogram.h"

#include <string.h>

void mb_hist_reset(mb_hist *h) { memset(h, 0, sizeof *h); }

uint32_t mb_hist_index(uint64_t ns) {
    if (ns > MB_HIST_CLAMP_NS) ns = MB_HIST_CLAMP_NS;
    if (ns < MB_HIST_LINEAR) return (uint32_t)ns;
    uint32_t msb = 63u - (uint32_t)__builtin_clzll(ns); /* >= 8 */
    uint32_t shift = msb - 7u;                          /* ns >> shift is in [128, 256) */
    return MB_HIST_LINEAR + (msb - 8u) * MB_HIST_SUB + (uint32_t)((ns >> shift) - MB_HIST_SUB);
}

void mb_hist_range(uint32_t index, uint64_t *low, uint64_t *high) {
    if (index < MB_HIST_LINEAR) { *low = index; *high = (uint64_t)index + 1; return; }
    uint32_t k = index - MB_HIST_LINEAR;
    uint32_t msb = 8u + k / MB_HIST_SUB, shift = msb - 7u;
    uint64_t sub = MB_HIST_SUB + k % MB_HIST_SUB;
    *low = sub << shift;
    *high = (sub + 1) << shift;
}

void mb_hist_record(mb_hist *h, uint64_t ns) {
    h->counts[mb_hist_index(ns)]++;
    h->total++;
    if (ns > h->max_ns) h->max_ns = ns;
    h->sum_ns += (double)ns;
}

double mb_hist_quantile(const mb_hist *h, double q) {
    if (h->total == 0) return 0;
    if (q < 0) q = 0;
    if (q > 1) q = 1;
    /* The rank-th value (1-based), rank = ceil(q * total), at least 1. */
    double want = q * (double)h->total;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want) rank++;
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < MB_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t low, high;
            mb_hist_range(i, &low, &high);
            double mid = ((double)low + (double)(high - 1)) / 2;
            return mid > (double)h->max_ns ? (double)h->max_ns : mid;
        }
    }
    return (double)h->max_ns;
}

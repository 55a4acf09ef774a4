/*
 * Latency histogram of mcp-bench-load: log-linear buckets (HDR-like) over nanoseconds, fixed memory
 * (MB_HIST_BUCKETS counters, about 32 KiB), relative error under 0.4% (half a bucket of 1/128)
 * from 1 µs to 60 s. Values above 60 s are counted as 60 s (the bound); `max` and `sum` stay exact.
 * Pure; one caller at a time.
 */
#ifndef MB_HISTOGRAM_H
#define MB_HISTOGRAM_H

#include <stdint.h>

/* 256 exact buckets (0..255 ns), then 128 sub-buckets per power of two up to 2^36 ns (68.7 s). */
#define MB_HIST_LINEAR 256u
#define MB_HIST_SUB 128u
#define MB_HIST_TOP_BIT 36u
#define MB_HIST_BUCKETS (MB_HIST_LINEAR + (MB_HIST_TOP_BIT - 8u) * MB_HIST_SUB)
#define MB_HIST_CLAMP_NS 60000000000ull

typedef struct {
    uint64_t counts[MB_HIST_BUCKETS];
    uint64_t total;
    uint64_t max_ns;
    double sum_ns;
} mb_hist;

void mb_hist_reset(mb_hist *h);
void mb_hist_record(mb_hist *h, uint64_t ns);
/* The value (ns, a bucket's midpoint) at quantile q in [0, 1]; 0 when empty. */
double mb_hist_quantile(const mb_hist *h, double q);

/* Bucket arithmetic, exposed for tests: index of a value, and a bucket's [low, high) range. */
uint32_t mb_hist_index(uint64_t ns);
void mb_hist_range(uint32_t index, uint64_t *low, uint64_t *high);

#endif

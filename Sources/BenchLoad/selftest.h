/* `mcp-bench-load --self-test`: the pure readers and the histogram checked in-process. */
#ifndef MB_SELFTEST_H
#define MB_SELFTEST_H

/* Runs every check; failures and a count go to stderr. Returns the number of failures. */
int mb_self_test(void);

#endif

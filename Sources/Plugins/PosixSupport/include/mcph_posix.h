/* Small POSIX helpers for the bundled plugins: calls that need _GNU_SOURCE, which Swift's Glibc
 * module does not expose. Linked statically into each plugin; not part of the plugin ABI. */
#ifndef MCPH_POSIX_H
#define MCPH_POSIX_H
#include <stddef.h>

/* pipe2(fds, O_CLOEXEC): both ends close-on-exec atomically. Returns 0 or -1 with errno set. */
int mcph_pipe_cloexec(int fds[2]);

/* Writes the path of the shared object this helper is linked into (the plugin library) into buf,
 * NUL-terminated. Returns 0 on success, -1 if unknown or if it does not fit. */
int mcph_own_object_path(char *buf, size_t cap);

#endif

#define _GNU_SOURCE
#include "mcph_posix.h"
#include <dlfcn.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int mcph_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int mcph_own_object_path(char *buf, size_t cap) {
    Dl_info info;
    if (dladdr((const void *)&mcph_own_object_path, &info) == 0 || info.dli_fname == NULL) return -1;
    size_t n = strlen(info.dli_fname);
    if (n + 1 > cap) return -1;
    memcpy(buf, info.dli_fname, n + 1);
    return 0;
}

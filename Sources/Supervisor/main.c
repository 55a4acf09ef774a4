/*
 * mcph-supervisor — keeps a backend's whole process tree from outliving its transport or the host.
 *
 *   mcph-supervisor [--lifeline FD] [--grace-ms N] [--cwd DIR] -- COMMAND [ARG...]
 *
 * It becomes a child subreaper (so daemonised grandchildren are re-parented to it, not to init),
 * starts COMMAND in a new process group with the supervisor's stdin/stdout/stderr, and then waits
 * for the first of:
 *   - COMMAND exits                  -> tear the tree down, exit with COMMAND's status;
 *   - EOF/HUP on the lifeline FD     -> the host is gone (even after kill -9): tear down, exit;
 *   - SIGTERM / SIGINT / SIGHUP      -> an orderly stop requested by the transport: tear down, exit.
 * Tear-down: SIGTERM to the group and to every remaining child, wait up to the grace period, then
 * SIGKILL to everything left, reaping until no child remains. Exit status: COMMAND's exit code,
 * 128+signal if it was killed, 127 if it could not be started, 125 on a usage error.
 *
 * Measured reasons for this design live in docs/process-lifecycle.md (PR_SET_PDEATHSIG alone leaves
 * grandchildren behind and fires when the spawning *thread* exits).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int wake_pipe[2] = {-1, -1};
static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
    int saved = errno;
    if (sig != SIGCHLD) stop_requested = 1;
    char b = (char)sig;
    (void)!write(wake_pipe[1], &b, 1);
    errno = saved;
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fail(const char *what) {
    fprintf(stderr, "mcph-supervisor: %s: %s\n", what, strerror(errno));
}

/* Sends sig to every process whose parent is this supervisor (re-parented descendants included). */
static int signal_children(int sig) {
    int count = 0;
    pid_t self = getpid();
    DIR *proc = opendir("/proc");
    if (!proc) return 0;
    struct dirent *entry;
    while ((entry = readdir(proc)) != NULL) {
        char *end;
        long pid = strtol(entry->d_name, &end, 10);
        if (*end != '\0' || pid <= 0) continue;
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        char buf[512];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *close_paren = strrchr(buf, ')'); /* comm may contain spaces and parens */
        if (!close_paren) continue;
        char state;
        long ppid;
        if (sscanf(close_paren + 1, " %c %ld", &state, &ppid) != 2) continue;
        if (ppid == self) {
            kill((pid_t)pid, sig);
            count++;
        }
    }
    closedir(proc);
    return count;
}

/* Reaps without blocking; records the main child's status. Returns true when no child is left. */
static int reap(pid_t main_child, int *main_status, int *main_done) {
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid == 0) return 0;
        if (pid < 0) return errno == ECHILD;
        if (pid == main_child) {
            *main_status = status;
            *main_done = 1;
        }
    }
}

static void teardown(pid_t group, pid_t main_child, int *main_status, int *main_done, int grace_ms) {
    kill(-group, SIGTERM);
    signal_children(SIGTERM);
    long long deadline = now_ms() + grace_ms;
    while (!reap(main_child, main_status, main_done) && now_ms() < deadline) {
        struct pollfd p = {wake_pipe[0], POLLIN, 0};
        int wait = (int)(deadline - now_ms());
        if (wait > 50) wait = 50;
        if (wait > 0 && poll(&p, 1, wait) > 0) {
            char drain[64];
            (void)!read(wake_pipe[0], drain, sizeof drain);
        }
    }
    /* Whatever is left gets SIGKILL; re-parented grandchildren show up as our children in turn. */
    for (int round = 0; round < 1000; round++) {
        kill(-group, SIGKILL);
        if (signal_children(SIGKILL) == 0 && reap(main_child, main_status, main_done)) break;
        usleep(2000);
        if (reap(main_child, main_status, main_done)) break;
    }
}

/* The host raises its own open-file limit (each HTTP session holds sockets) and names the limit
 * it was started with in MCPH_ORIGINAL_NOFILE: the backend gets that one back, as programs using
 * select() (which breaks on descriptors from 1024 on) expect. The variable never reaches it. */
static void restore_open_file_limit(void) {
    const char *text = getenv("MCPH_ORIGINAL_NOFILE");
    if (text) {
        char *end = NULL;
        errno = 0;
        unsigned long long value = strtoull(text, &end, 10);
        struct rlimit open_files;
        if (errno == 0 && end != text && *end == '\0' && getrlimit(RLIMIT_NOFILE, &open_files) == 0
            && (open_files.rlim_max == RLIM_INFINITY || value <= open_files.rlim_max)) {
            open_files.rlim_cur = (rlim_t)value;
            setrlimit(RLIMIT_NOFILE, &open_files);
        }
    }
    unsetenv("MCPH_ORIGINAL_NOFILE");
}

int main(int argc, char **argv) {
    /* Whoever started us may have blocked signals (posix_spawn without a mask, some process
     * libraries): the supervisor needs SIGCHLD and the stop signals, and the backend, which
     * inherits the mask, must start with none blocked. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int lifeline = -1, grace_ms = 2000;
    const char *cwd = NULL;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) { i++; break; }
        if (strcmp(argv[i], "--lifeline") == 0 && i + 1 < argc) lifeline = atoi(argv[++i]);
        else if (strcmp(argv[i], "--grace-ms") == 0 && i + 1 < argc) grace_ms = atoi(argv[++i]);
        else if (strcmp(argv[i], "--cwd") == 0 && i + 1 < argc) cwd = argv[++i];
        else {
            fprintf(stderr, "mcph-supervisor: unknown argument '%s'\n"
                            "usage: mcph-supervisor [--lifeline FD] [--grace-ms N] [--cwd DIR] -- COMMAND [ARG...]\n",
                    argv[i]);
            return 125;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "mcph-supervisor: no command given after --\n");
        return 125;
    }

    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) fail("PR_SET_CHILD_SUBREAPER");
    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) { fail("pipe"); return 125; }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    pid_t child = fork();
    if (child < 0) { fail("fork"); return 127; }
    if (child == 0) {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGCHLD, &dfl, NULL);
        sigaction(SIGTERM, &dfl, NULL);
        sigaction(SIGINT, &dfl, NULL);
        sigaction(SIGHUP, &dfl, NULL);
        sigaction(SIGPIPE, &dfl, NULL);
        setpgid(0, 0);
        if (cwd && chdir(cwd) != 0) {
            fprintf(stderr, "mcph-supervisor: cannot change directory to '%s': %s\n", cwd, strerror(errno));
            _exit(127);
        }
        /* Only stdin, stdout and stderr go to the backend (every descriptor, however high the
         * limit: the host raises its own). */
        if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
            struct rlimit open_files;
            long top = getrlimit(RLIMIT_NOFILE, &open_files) == 0 && open_files.rlim_cur != RLIM_INFINITY
                       && open_files.rlim_cur < (1UL << 20) ? (long)open_files.rlim_cur : 1L << 20;
            for (long fd = 3; fd < top; fd++) close((int)fd);
        }
        restore_open_file_limit();
        execvp(argv[i], &argv[i]);
        fprintf(stderr, "mcph-supervisor: cannot start '%s': %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    setpgid(child, child); /* also here, so the group exists before we might signal it */

    /* The backend alone holds the data pipes: its exit (or its tree's) means EOF for the host. */
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        close(devnull);
    }

    int main_status = 0, main_done = 0;
    struct pollfd fds[2] = {{wake_pipe[0], POLLIN, 0}, {lifeline, POLLIN, 0}};
    int nfds = lifeline >= 0 ? 2 : 1;
    while (!main_done && !stop_requested) {
        if (reap(child, &main_status, &main_done) || main_done) break;
        int r = poll(fds, (nfds_t)nfds, -1);
        if (r < 0 && errno != EINTR) { fail("poll"); break; }
        if (fds[0].revents & POLLIN) {
            char drain[64];
            while (read(wake_pipe[0], drain, sizeof drain) > 0) {}
        }
        if (nfds == 2 && fds[1].revents) {
            char b;
            ssize_t n = read(lifeline, &b, 1);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN) || (fds[1].revents & (POLLHUP | POLLERR))) {
                stop_requested = 1; /* the host is gone */
            }
        }
    }
    teardown(child, child, &main_status, &main_done, grace_ms);
    if (!main_done) return 128 + SIGKILL;
    if (WIFEXITED(main_status)) return WEXITSTATUS(main_status);
    if (WIFSIGNALED(main_status)) return 128 + WTERMSIG(main_status);
    return 1;
}

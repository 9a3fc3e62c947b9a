/*
 * Entry points that Rust cannot define well. Variadic ones: open/openat (optional mode
 * argument) and execl/execlp/execle (argument list). And dlopen, whose real implementation
 * looks at its caller's return address to pick the RPATH/RUNPATH and namespace to search: our
 * wrapper must tail-call it so the caller it sees is the application, not librasp (this file is
 * always built with -O2 so the sibling call is a jump). Each unpacks its arguments and forwards to the Rust
 * hook installed by the constructor. Before that (another library's constructor, an allocator
 * initialising), it passes straight through with raw syscalls or the exported argv variants,
 * without allocating.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Which entry point called the Rust hook; must match `agent/src/hooks/fs.rs` and `exec.rs`. */
enum { RASP_OPEN = 0, RASP_OPEN64 = 1, RASP_OPENAT = 2, RASP_OPENAT64 = 3 };
enum { RASP_EXECL = 0, RASP_EXECLP = 1, RASP_EXECLE = 2 };

typedef int (*rasp_open_hook)(int which, int dirfd, const char *path, int flags, unsigned mode);
typedef int (*rasp_execl_hook)(int which, const char *path, char *const argv[], char *const envp[]);
/* Returns non-zero when the load must be refused. */
typedef int (*rasp_dlopen_check)(const char *path);
typedef void *(*dlopen_fn)(const char *, int);

static rasp_open_hook open_hook;
static rasp_execl_hook execl_hook;
static rasp_dlopen_check dlopen_check;
static dlopen_fn real_dlopen;

extern char **environ;

/* Called once by the Rust constructor, before the agent becomes active. */
__attribute__((visibility("hidden"))) void rasp_shim_install(rasp_open_hook o, rasp_execl_hook e,
                                                               rasp_dlopen_check d, dlopen_fn real) {
    __atomic_store_n(&real_dlopen, real, __ATOMIC_RELEASE);
    __atomic_store_n(&open_hook, o, __ATOMIC_RELEASE);
    __atomic_store_n(&execl_hook, e, __ATOMIC_RELEASE);
    __atomic_store_n(&dlopen_check, d, __ATOMIC_RELEASE);
}

__attribute__((visibility("default"))) void *dlopen(const char *file, int flags) {
    rasp_dlopen_check check = __atomic_load_n(&dlopen_check, __ATOMIC_ACQUIRE);
    if (check != NULL && file != NULL && check(file) != 0) {
        errno = EACCES;
        return NULL;
    }
    dlopen_fn real = __atomic_load_n(&real_dlopen, __ATOMIC_ACQUIRE);
    if (real == NULL) {
        real = (dlopen_fn)dlsym(RTLD_NEXT, "dlopen");
        if (real == NULL) {
            return NULL;
        }
        __atomic_store_n(&real_dlopen, real, __ATOMIC_RELEASE);
    }
    return real(file, flags); /* sibling call: keep the application's return address */
}

/* O_CREAT and O_TMPFILE are the flags for which the mode argument exists. */
static int needs_mode(int flags) {
    return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
}

static int do_open(int which, int dirfd, const char *path, int flags, unsigned mode) {
    rasp_open_hook hook = __atomic_load_n(&open_hook, __ATOMIC_ACQUIRE);
    if (hook != NULL) {
        return hook(which, dirfd, path, flags, mode);
    }
    if (which == RASP_OPEN64 || which == RASP_OPENAT64) {
        flags |= O_LARGEFILE;
    }
    return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}

#define MODE_ARG(flags, last, mode)                                                                \
    do {                                                                                           \
        if (needs_mode(flags)) {                                                                   \
            va_list ap;                                                                            \
            va_start(ap, last);                                                                    \
            mode = va_arg(ap, unsigned);                                                           \
            va_end(ap);                                                                            \
        }                                                                                          \
    } while (0)

__attribute__((visibility("default"))) int open(const char *path, int flags, ...) {
    unsigned mode = 0;
    MODE_ARG(flags, flags, mode);
    return do_open(RASP_OPEN, AT_FDCWD, path, flags, mode);
}

__attribute__((visibility("default"))) int open64(const char *path, int flags, ...) {
    unsigned mode = 0;
    MODE_ARG(flags, flags, mode);
    return do_open(RASP_OPEN64, AT_FDCWD, path, flags, mode);
}

__attribute__((visibility("default"))) int openat(int dirfd, const char *path, int flags, ...) {
    unsigned mode = 0;
    MODE_ARG(flags, flags, mode);
    return do_open(RASP_OPENAT, dirfd, path, flags, mode);
}

__attribute__((visibility("default"))) int openat64(int dirfd, const char *path, int flags, ...) {
    unsigned mode = 0;
    MODE_ARG(flags, flags, mode);
    return do_open(RASP_OPENAT64, dirfd, path, flags, mode);
}

/* Collects execl-style arguments into `argv` (which has room for `count + 1` pointers). */
static void collect_args(const char *arg0, va_list ap, char **argv, size_t count) {
    argv[0] = (char *)arg0;
    for (size_t i = 1; i < count; i++) {
        argv[i] = va_arg(ap, char *);
    }
    argv[count] = NULL;
}

/* Number of arguments up to (not including) the terminating NULL, arg0 included. */
static size_t count_args(const char *arg0, va_list ap) {
    size_t n = 0;
    if (arg0 == NULL) {
        return 0;
    }
    n = 1;
    while (va_arg(ap, char *) != NULL) {
        n++;
    }
    return n;
}

static int do_execl(int which, const char *path, char *const argv[], char *const envp[]) {
    rasp_execl_hook hook = __atomic_load_n(&execl_hook, __ATOMIC_ACQUIRE);
    if (hook != NULL) {
        return hook(which, path, argv, envp);
    }
    if (which == RASP_EXECLP) {
        return execvp(path, argv);
    }
    return (int)syscall(SYS_execve, path, argv, envp);
}

/*
 * The execl family with its arguments in `ap` (positioned after `arg`): counts them on a copy,
 * collects them into a stack array and, for execle, reads the environment that follows the
 * terminating NULL (which counting already consumed unless `arg` itself was the NULL).
 */
static int execl_va(int which, const char *path, const char *arg, va_list ap) {
    va_list count;
    va_copy(count, ap);
    size_t n = count_args(arg, count);
    char *const *envp = environ;
    if (which == RASP_EXECLE) {
        envp = va_arg(count, char *const *);
    }
    va_end(count);
    char *argv[n + 1];
    collect_args(arg, ap, argv, n);
    return do_execl(which, path, argv, envp);
}

__attribute__((visibility("default"))) int execl(const char *path, const char *arg, ...) {
    va_list ap;
    va_start(ap, arg);
    int r = execl_va(RASP_EXECL, path, arg, ap);
    va_end(ap);
    return r;
}

__attribute__((visibility("default"))) int execlp(const char *file, const char *arg, ...) {
    va_list ap;
    va_start(ap, arg);
    int r = execl_va(RASP_EXECLP, file, arg, ap);
    va_end(ap);
    return r;
}

__attribute__((visibility("default"))) int execle(const char *path, const char *arg, ...) {
    va_list ap;
    va_start(ap, arg);
    int r = execl_va(RASP_EXECLE, path, arg, ap);
    va_end(ap);
    return r;
}

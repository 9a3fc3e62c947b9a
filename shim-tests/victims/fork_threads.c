/*
 * fork from a 16-thread process whose threads are busy in hooked calls, then exec in each
 * child. A lock held by another thread at fork time (ours or libc's) would hang the child.
 * Prints "ok" when every child exited 0.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_int stop;

static void *busy(void *arg) {
    (void)arg;
    char buf[64];
    while (!atomic_load(&stop)) {
        int fd = open("/etc/hostname", O_RDONLY);
        if (fd >= 0) {
            if (read(fd, buf, sizeof buf) < 0) abort();
            close(fd);
        }
        FILE *f = fopen("/etc/hostname", "r");
        if (f) fclose(f);
        free(malloc(128));
    }
    return NULL;
}

int main(void) {
    pthread_t t[16];
    for (int i = 0; i < 16; i++) pthread_create(&t[i], NULL, busy, NULL);
    for (int i = 0; i < 40; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            /* The child allocates and opens before exec, as real programs do. */
            FILE *f = fopen("/etc/hostname", "r");
            if (f) fclose(f);
            char *argv[] = {"true", NULL};
            execv("/bin/true", argv);
            _exit(127);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            printf("child %d failed\n", i);
            return 1;
        }
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 16; i++) pthread_join(t[i], NULL);
    puts("ok");
    return 0;
}

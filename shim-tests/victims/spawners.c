/*
 * The process-creation paths that bypass a plain execve hook: vfork + exec, posix_spawn,
 * posix_spawnp, and execl-family calls in forked children. Each child prints one line.
 */
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int wait_ok(pid_t pid) {
    int status;
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t pid = vfork();
    if (pid == 0) {
        execl("/bin/echo", "echo", "vfork-ok", (char *)NULL);
        _exit(127);
    }
    if (!wait_ok(pid)) return 1;

    char *argv[] = {"echo", "spawn-ok", NULL};
    if (posix_spawn(&pid, "/bin/echo", NULL, NULL, argv, environ) != 0 || !wait_ok(pid)) return 2;
    char *argvp[] = {"echo", "spawnp-ok", NULL};
    if (posix_spawnp(&pid, "echo", NULL, NULL, argvp, environ) != 0 || !wait_ok(pid)) return 3;

    pid = fork();
    if (pid == 0) {
        execlp("echo", "echo", "execlp-ok", (char *)NULL);
        _exit(127);
    }
    if (!wait_ok(pid)) return 4;
    pid = fork();
    if (pid == 0) {
        char *envp[] = {"GREETING=execle-ok", NULL};
        execle("/bin/sh", "sh", "-c", "echo $GREETING", (char *)NULL, envp);
        _exit(127);
    }
    if (!wait_ok(pid)) return 5;
    return 0;
}

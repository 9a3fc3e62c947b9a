/*
 * Calls every hooked family in ways that succeed or fail, printing errno after each. Run with
 * and without the agent: the outputs must be identical (the agent never changes errno).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define PROBE(name, expr)                                                                          \
    do {                                                                                           \
        errno = 4242;                                                                              \
        long r = (long)(expr);                                                                     \
        printf("%-10s r=%s errno=%d\n", name, r < 0 ? "neg" : (r == 0 ? "zero" : "pos"), errno); \
    } while (0)

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    int p[2];
    if (pipe(p) != 0) return 1;
    char buf[16];
    PROBE("write", write(p[1], "abc", 3));
    PROBE("read", read(p[0], buf, 3));
    struct iovec iov = {buf, 1};
    PROBE("writev", writev(p[1], &iov, 1));
    PROBE("readv", readv(p[0], &iov, 1));
    PROBE("open", open("/nonexistent/x", O_RDONLY));
    PROBE("openat", openat(AT_FDCWD, "/nonexistent/x", O_RDONLY));
    PROBE("creat", creat("/nonexistent/x", 0600));
    PROBE("fopen", fopen("/nonexistent/x", "r") == NULL ? -1 : 1);
    PROBE("close", close(-1));
    PROBE("dup2", dup2(-1, 100));
    PROBE("dup3", dup3(-1, 100, 0));
    PROBE("recv", recv(p[0], buf, 1, MSG_DONTWAIT));
    PROBE("accept", accept(p[0], NULL, NULL));
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(1);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    PROBE("connect", connect(s, (struct sockaddr *)&a, sizeof a));
    close(s);
    struct addrinfo *res = NULL;
    PROBE("gai", getaddrinfo("localhost", "80", NULL, &res));
    if (res) freeaddrinfo(res);
    PROBE("execve", execve("/nonexistent/x", (char *[]){"x", NULL}, environ));
    PROBE("execvp", execvp("nonexistent-program-xyz", (char *[]){"x", NULL}));
    pid_t pid;
    PROBE("spawn", posix_spawn(&pid, "/nonexistent/x", NULL, NULL, (char *[]){"x", NULL}, environ));
    PROBE("system", system("exit 3"));
    FILE *f = popen("true", "r");
    PROBE("pclose", f ? pclose(f) : -1);
    PROBE("dlopen", dlopen("/nonexistent/x.so", RTLD_NOW) == NULL ? -1 : 1);
    return 0;
}

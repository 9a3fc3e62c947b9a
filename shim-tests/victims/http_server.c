/*
 * A deliberately vulnerable multi-threaded HTTP/1.1 server for librasp's shim tests: one
 * endpoint per sink family, each building its sink argument from the query parameter `arg`
 * the way careless C code does. Thread per connection, keep-alive, Content-Length bodies.
 *
 *   GET /system?arg=X   system("echo hello X")
 *   GET /popen?arg=X    popen("echo hello X")
 *   GET /exec?arg=X     fork + execve("/bin/sh", {"sh", "-c", "echo hello X"})
 *   GET /spawn?arg=X    posix_spawn("/bin/sh", {"sh", "-c", "echo hello X"})
 *   GET /fopen?arg=X    fopen(DOCROOT "/" X) and return its contents
 *   GET /open?arg=X     open(DOCROOT "/" X) and return its contents
 *   GET /connect?arg=H&port=P   getaddrinfo(H) + connect to port P
 *   GET /dlopen?arg=X   dlopen(DOCROOT "/" X)
 *   GET /sqlite?arg=X   SELECT body FROM notes WHERE title = 'X'   (sqlite3_prepare_v2)
 *   GET /health         200 ok
 *
 * Every response body ends with "errno=N" when the sink failed, so tests see what the
 * application saw. Usage: http_server DOCROOT; prints "PORT <n>" once listening on 127.0.0.1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static const char *docroot;

static void respond(int fd, int status, const char *body);

/* The few SQLite functions used, declared here so only the runtime library is needed. */
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
int sqlite3_open(const char *, sqlite3 **);
int sqlite3_close(sqlite3 *);
int sqlite3_exec(sqlite3 *, const char *, void *, void *, char **);
int sqlite3_prepare_v2(sqlite3 *, const char *, int, sqlite3_stmt **, const char **);
int sqlite3_step(sqlite3_stmt *);
const unsigned char *sqlite3_column_text(sqlite3_stmt *, int);
int sqlite3_finalize(sqlite3_stmt *);
const char *sqlite3_errmsg(sqlite3 *);
#define SQLITE_ROW 100

static void query_notes(int fd, const char *title) {
    sqlite3 *db;
    sqlite3_stmt *st;
    char sql[4096], out[8192] = "";
    if (sqlite3_open(":memory:", &db) != 0) { respond(fd, 500, "open failed\n"); return; }
    sqlite3_exec(db, "CREATE TABLE notes(title TEXT, body TEXT);"
                     "INSERT INTO notes VALUES('welcome','hello notes'),('secret','top secret');",
                 NULL, NULL, NULL);
    snprintf(sql, sizeof sql, "SELECT body FROM notes WHERE title = '%s'", title);
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != 0) {
        snprintf(out, sizeof out, "sqlite failed: rc=%d %s\n", rc, sqlite3_errmsg(db));
        sqlite3_close(db);
        respond(fd, 500, out);
        return;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        strncat(out, (const char *)sqlite3_column_text(st, 0), sizeof out - strlen(out) - 2);
        strcat(out, "\n");
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    respond(fd, 200, out);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Copies the decoded value of query parameter `name` from `query` into `out`. */
static int param(const char *query, const char *name, char *out, size_t cap) {
    size_t nlen = strlen(name);
    const char *p = query;
    while (p && *p) {
        if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            const char *v = p + nlen + 1;
            size_t o = 0;
            while (*v && *v != '&' && *v != ' ' && o + 1 < cap) {
                if (*v == '%' && hexval(v[1]) >= 0 && hexval(v[2]) >= 0) {
                    out[o++] = (char)(hexval(v[1]) * 16 + hexval(v[2]));
                    v += 3;
                } else if (*v == '+') {
                    out[o++] = ' ';
                    v++;
                } else {
                    out[o++] = *v++;
                }
            }
            out[o] = 0;
            return 1;
        }
        p = strchr(p, '&');
        if (p) p++;
    }
    out[0] = 0;
    return 0;
}

static void respond(int fd, int status, const char *body) {
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n",
                     status, status == 200 ? "OK" : "Error", strlen(body));
    /* Head and body in one writev: two writes would meet Nagle's algorithm and the peer's
     * delayed ACK (a 40 ms stall per keep-alive request). */
    struct iovec iov[2] = {{head, (size_t)n}, {(void *)body, strlen(body)}};
    if (writev(fd, iov, 2) < 0) {
        return;
    }
}

static void fail(int fd, const char *what, int err) {
    char body[512];
    snprintf(body, sizeof body, "%s failed: %s errno=%d\n", what, strerror(err), err);
    respond(fd, 500, body);
}

/* Reads a whole stream into `out`. */
static void slurp(FILE *f, char *out, size_t cap) {
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = 0;
}

static void handle(int fd, const char *path, const char *query) {
    char arg[2048], port[16], cmd[4096], out[8192];
    param(query, "arg", arg, sizeof arg);
    snprintf(cmd, sizeof cmd, "echo hello %s", arg);
    if (strcmp(path, "/health") == 0) {
        respond(fd, 200, "ok\n");
    } else if (strcmp(path, "/system") == 0) {
        int rc = system(cmd);
        if (rc == -1) { fail(fd, "system", errno); return; }
        snprintf(out, sizeof out, "system rc=%d\n", rc);
        respond(fd, 200, out);
    } else if (strcmp(path, "/popen") == 0) {
        FILE *p = popen(cmd, "r");
        if (!p) { fail(fd, "popen", errno); return; }
        slurp(p, out, sizeof out);
        pclose(p);
        respond(fd, 200, out);
    } else if (strcmp(path, "/exec") == 0 || strcmp(path, "/spawn") == 0) {
        int pipefd[2];
        if (pipe(pipefd) != 0) { fail(fd, "pipe", errno); return; }
        char *argv[] = {"sh", "-c", cmd, NULL};
        pid_t pid;
        if (strcmp(path, "/spawn") == 0) {
            posix_spawn_file_actions_t fa;
            posix_spawn_file_actions_init(&fa);
            posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
            int rc = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
            posix_spawn_file_actions_destroy(&fa);
            close(pipefd[1]);
            if (rc != 0) { close(pipefd[0]); fail(fd, "posix_spawn", rc); return; }
        } else {
            pid = fork();
            if (pid == 0) {
                dup2(pipefd[1], 1);
                execve("/bin/sh", argv, environ);
                /* Report the exec failure to the parent through the pipe, then leave. */
                dprintf(1, "execve failed errno=%d\n", errno);
                _exit(127);
            }
            close(pipefd[1]);
        }
        FILE *r = fdopen(pipefd[0], "r");
        slurp(r, out, sizeof out);
        fclose(r);
        int status = 0;
        waitpid(pid, &status, 0);
        respond(fd, WEXITSTATUS(status) == 127 ? 500 : 200, out);
    } else if (strcmp(path, "/fopen") == 0) {
        char file[4096];
        snprintf(file, sizeof file, "%s/%s", docroot, arg);
        FILE *f = fopen(file, "r");
        if (!f) { fail(fd, "fopen", errno); return; }
        slurp(f, out, sizeof out);
        fclose(f);
        respond(fd, 200, out);
    } else if (strcmp(path, "/open") == 0) {
        char file[4096];
        snprintf(file, sizeof file, "%s/%s", docroot, arg);
        int f = open(file, O_RDONLY);
        if (f < 0) { fail(fd, "open", errno); return; }
        ssize_t n = read(f, out, sizeof out - 1);
        close(f);
        out[n > 0 ? n : 0] = 0;
        respond(fd, 200, out);
    } else if (strcmp(path, "/connect") == 0) {
        struct addrinfo hints = {0}, *res = NULL;
        hints.ai_socktype = SOCK_STREAM;
        param(query, "port", port, sizeof port);
        int rc = getaddrinfo(arg, port[0] ? port : "80", &hints, &res);
        if (rc != 0) { respond(fd, 500, gai_strerror(rc)); return; }
        int s = socket(res->ai_family, SOCK_STREAM, 0);
        rc = connect(s, res->ai_addr, res->ai_addrlen);
        int err = errno;
        freeaddrinfo(res);
        close(s);
        if (rc != 0) { fail(fd, "connect", err); return; }
        respond(fd, 200, "connected\n");
    } else if (strcmp(path, "/sqlite") == 0) {
        query_notes(fd, arg);
    } else if (strcmp(path, "/dlopen") == 0) {
        char file[4096];
        snprintf(file, sizeof file, "%s/%s", docroot, arg);
        errno = 0;
        void *h = dlopen(file, RTLD_NOW);
        if (!h) { fail(fd, "dlopen", errno); return; }
        dlclose(h);
        respond(fd, 200, "loaded\n");
    } else {
        respond(fd, 404, "not found\n");
    }
}

/* Serves one connection: requests until the peer closes (keep-alive). */
static void *serve(void *arg) {
    int fd = (int)(long)arg;
    char buf[65536];
    size_t have = 0;
    for (;;) {
        char *end;
        while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL) {
            if (have == sizeof buf) goto done;
            ssize_t n = read(fd, buf + have, sizeof buf - have);
            if (n <= 0) goto done;
            have += (size_t)n;
        }
        size_t head_len = (size_t)(end - buf) + 4;
        size_t body_len = 0;
        char *cl = memmem(buf, head_len, "Content-Length:", 15);
        if (cl) body_len = strtoul(cl + 15, NULL, 10);
        if (body_len > sizeof buf - head_len) goto done;
        while (have < head_len + body_len) {
            ssize_t n = read(fd, buf + have, sizeof buf - have);
            if (n <= 0) goto done;
            have += (size_t)n;
        }
        char method[16], target[8192];
        char line[8300];
        size_t ll = (size_t)((char *)memchr(buf, '\r', head_len) - buf);
        if (ll >= sizeof line) goto done;
        memcpy(line, buf, ll);
        line[ll] = 0;
        if (sscanf(line, "%15s %8191s", method, target) != 2) goto done;
        char *q = strchr(target, '?');
        const char *query = "";
        if (q) { *q = 0; query = q + 1; }
        handle(fd, target, query);
        size_t used = head_len + body_len;
        memmove(buf, buf + used, have - used);
        have -= used;
    }
done:
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s DOCROOT\n", argv[0]); return 2; }
    docroot = argv[1];
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 128) != 0) { perror("bind"); return 1; }
    socklen_t len = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &len);
    printf("PORT %d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) {
        int c = accept(ls, NULL, NULL);
        if (c < 0) continue;
        pthread_t t;
        pthread_create(&t, NULL, serve, (void *)(long)c);
        pthread_detach(t);
    }
}

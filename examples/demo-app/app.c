/*
 * notes — a small, deliberately vulnerable web app for `make demo`.
 *
 *   GET /greet?name=X     runs  popen("echo Hello, X")           (command injection)
 *   GET /files?name=X     reads fopen("<docroot>/X")              (path traversal)
 *   GET /search?q=X       SELECT title FROM notes WHERE title LIKE '%X%'   (SQL injection)
 *
 * It makes every classic mistake on purpose; librasp, preloaded into it, is what stops the
 * attacks. Usage: app DOCROOT — prints "PORT <n>" once listening on 127.0.0.1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *docroot;

/* The SQLite functions used, declared here so only the runtime library is needed. */
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

/* Runs the search with the query built by string formatting — the classic mistake. */
static int search(const char *q, char *out, size_t cap) {
    sqlite3 *db;
    sqlite3_stmt *st;
    char sql[4096];
    out[0] = 0;
    if (sqlite3_open(":memory:", &db) != 0) return snprintf(out, cap, "error: cannot open db\n"), 500;
    sqlite3_exec(db, "CREATE TABLE notes(title TEXT, owner TEXT);"
                     "INSERT INTO notes VALUES('shopping list','alice'),('holiday plans','alice'),"
                     "('salary review','hr-only');",
                 NULL, NULL, NULL);
    snprintf(sql, sizeof sql, "SELECT title FROM notes WHERE owner = 'alice' AND title LIKE '%%%s%%'", q);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != 0) {
        snprintf(out, cap, "error: %s\n", sqlite3_errmsg(db));
        sqlite3_close(db);
        return 500;
    }
    while (sqlite3_step(st) == 100 /* SQLITE_ROW */) {
        strncat(out, (const char *)sqlite3_column_text(st, 0), cap - strlen(out) - 2);
        strcat(out, "\n");
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return 200;
}

static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes the value of `name` in the query string `q` into `out`. */
static void param(const char *q, const char *name, char *out, size_t cap) {
    size_t n = strlen(name), o = 0;
    const char *p = strstr(q, name);
    out[0] = 0;
    if (p == NULL || p[n] != '=') return;
    for (p += n + 1; *p && *p != '&' && o + 1 < cap; p++) {
        if (*p == '%' && hex(p[1]) >= 0 && hex(p[2]) >= 0) {
            out[o++] = (char)(hex(p[1]) * 16 + hex(p[2]));
            p += 2;
        } else {
            out[o++] = *p == '+' ? ' ' : *p;
        }
    }
    out[o] = 0;
}

static void reply(int fd, int status, const char *body) {
    char head[200];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
                     status == 200 ? "OK" : "Internal Server Error", strlen(body));
    if (write(fd, head, (size_t)n) < 0 || write(fd, body, strlen(body)) < 0) return;
}

static void *serve(void *arg) {
    int fd = (int)(long)arg;
    char req[8192] = {0}, path[4096], query[4096] = "", value[2048], cmd[4096], out[8192] = "";
    size_t have = 0;
    while (strstr(req, "\r\n\r\n") == NULL && have < sizeof req - 1) {
        ssize_t n = read(fd, req + have, sizeof req - 1 - have);
        if (n <= 0) goto done;
        have += (size_t)n;
    }
    if (sscanf(req, "GET %4095s", path) != 1) goto done;
    char *q = strchr(path, '?');
    if (q) { *q = 0; snprintf(query, sizeof query, "%s", q + 1); }
    if (strcmp(path, "/greet") == 0) {
        param(query, "name", value, sizeof value);
        snprintf(cmd, sizeof cmd, "echo Hello, %s", value);
        FILE *p = popen(cmd, "r");
        if (p == NULL) {
            snprintf(out, sizeof out, "error: %s\n", strerror(errno));
            reply(fd, 500, out);
            goto done;
        }
        size_t len = fread(out, 1, sizeof out - 1, p);
        out[len] = 0;
        pclose(p);
        reply(fd, 200, out);
    } else if (strcmp(path, "/files") == 0) {
        char file[4096];
        param(query, "name", value, sizeof value);
        snprintf(file, sizeof file, "%s/%s", docroot, value);
        FILE *f = fopen(file, "r");
        if (f == NULL) {
            snprintf(out, sizeof out, "error: %s\n", strerror(errno));
            reply(fd, 500, out);
            goto done;
        }
        size_t len = fread(out, 1, sizeof out - 1, f);
        out[len] = 0;
        fclose(f);
        reply(fd, 200, out);
    } else if (strcmp(path, "/search") == 0) {
        param(query, "q", value, sizeof value);
        int status = search(value, out, sizeof out);
        reply(fd, status, out);
    } else {
        reply(fd, 404, "not found\n");
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
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 64) != 0) { perror("listen"); return 1; }
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

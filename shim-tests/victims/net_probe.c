/*
 * One HTTP request to itself, then the outbound connect it asks for: the SSRF path of a
 * server, in one process so it can run inside a private network namespace (loopback only —
 * no packet can leave the machine). A client thread sends "GET /fetch?host=H&port=P"; the
 * server side reads it, resolves H with getaddrinfo and connects to it. Prints
 * "connect ok" or "connect errno=N". Usage: net_probe HOST PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int port;
static const char *want_host, *want_port;

static void *client(void *arg) {
    (void)arg;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) return NULL;
    char req[1024];
    int n = snprintf(req, sizeof req, "GET /fetch?host=%s&port=%s HTTP/1.1\r\nHost: probe\r\n\r\n", want_host, want_port);
    if (write(s, req, (size_t)n) < 0) return NULL;
    char buf[64];
    while (read(s, buf, sizeof buf) > 0) {
    }
    close(s);
    return NULL;
}

/* Copies the value of `name=` from the request line into `out`. */
static void param(const char *req, const char *name, char *out, size_t cap) {
    const char *p = strstr(req, name);
    size_t o = 0;
    out[0] = 0;
    if (!p) return;
    for (p += strlen(name); *p && *p != '&' && *p != ' ' && o + 1 < cap; p++) out[o++] = *p;
    out[o] = 0;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    want_host = argv[1];
    want_port = argv[2];
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0) return 3;
    getsockname(ls, (struct sockaddr *)&a, &len);
    port = ntohs(a.sin_port);
    pthread_t t;
    pthread_create(&t, NULL, client, NULL);
    int c = accept(ls, NULL, NULL);
    char req[2048] = {0};
    size_t have = 0;
    while (!strstr(req, "\r\n\r\n") && have < sizeof req - 1) {
        ssize_t n = read(c, req + have, sizeof req - 1 - have);
        if (n <= 0) return 4;
        have += (size_t)n;
    }
    char host[256], service[16];
    param(req, "host=", host, sizeof host);
    param(req, "port=", service, sizeof service);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        printf("getaddrinfo %s\n", gai_strerror(rc));
    } else {
        int s = socket(res->ai_family, SOCK_STREAM, 0);
        if (connect(s, res->ai_addr, res->ai_addrlen) == 0) {
            puts("connect ok");
        } else {
            printf("connect errno=%d\n", errno);
        }
        close(s);
        freeaddrinfo(res);
    }
    fflush(stdout);
    if (write(c, "HTTP/1.1 204 No Content\r\n\r\n", 27) < 0) return 5;
    close(c);
    pthread_join(t, NULL);
    return 0;
}

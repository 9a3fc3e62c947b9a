/*
 * One HTTP request to itself (self_request.h), then the outbound connect it asks for: the SSRF
 * path of a server, in one process so it can run inside a private network namespace (loopback
 * only — no packet can leave the machine). The request is "GET /fetch?host=H&port=P"; the
 * server side resolves H with getaddrinfo and connects to it. Prints "connect ok" or
 * "connect errno=N". Usage: net_probe HOST PORT
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>

#include "self_request.h"

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
    char request[1024], head[2048];
    snprintf(request, sizeof request, "GET /fetch?host=%s&port=%s HTTP/1.1\r\nHost: probe\r\n\r\n",
             argv[1], argv[2]);
    int c = self_request_open(request, head, sizeof head);
    if (c < 0) return 3;
    char host[256], service[16];
    param(head, "host=", host, sizeof host);
    param(head, "port=", service, sizeof service);
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
    self_request_close(c);
    return 0;
}

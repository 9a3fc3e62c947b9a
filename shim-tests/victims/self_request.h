/*
 * One HTTP request a program sends to itself over loopback, so a single process both serves a
 * request (the agent captures it on the accepted connection) and then acts on it — and can run
 * inside a private network namespace. Shared by flood.c and net_probe.c.
 *
 *   int c = self_request_open(request, head, sizeof head);   accepted fd; head holds the
 *                                                             request up to its blank line
 *   ... act on the request ...
 *   self_request_close(c);                                    answers 204, joins the client
 */
#ifndef SELF_REQUEST_H
#define SELF_REQUEST_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct {
    int port;
    const char *request;
    pthread_t client;
} self_request;

static void *self_request_client(void *arg) {
    (void)arg;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)self_request.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) return NULL;
    if (write(s, self_request.request, strlen(self_request.request)) < 0) return NULL;
    char buf[64];
    while (read(s, buf, sizeof buf) > 0) {
    }
    close(s);
    return NULL;
}

/* Sends `request` to ourselves and accepts it; returns the connection, or -1. */
static int self_request_open(const char *request, char *head, size_t cap) {
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0) return -1;
    getsockname(ls, (struct sockaddr *)&a, &len);
    self_request.port = ntohs(a.sin_port);
    self_request.request = request;
    pthread_create(&self_request.client, NULL, self_request_client, NULL);
    int c = accept(ls, NULL, NULL);
    close(ls);
    size_t have = 0;
    memset(head, 0, cap);
    while (c >= 0 && !strstr(head, "\r\n\r\n") && have < cap - 1) {
        ssize_t n = read(c, head + have, cap - 1 - have);
        if (n <= 0) return -1;
        have += (size_t)n;
    }
    return c;
}

/* Answers the request and waits for the client thread. */
static void self_request_close(int c) {
    if (write(c, "HTTP/1.1 204 No Content\r\n\r\n", 27) < 0) {
        /* the client only waits for the connection to close */
    }
    close(c);
    pthread_join(self_request.client, NULL);
}

#endif

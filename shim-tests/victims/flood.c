/*
 * An attack flood from one request: serves one HTTP request to itself (as net_probe does),
 * then calls fopen() with the request's traversal N times in a tight loop — every call a
 * detection. Prints how many calls were refused with EACCES. Usage: flood N
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int port;

static void *client(void *arg) {
    (void)arg;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) return NULL;
    const char *req = "GET /file?name=..%2F..%2F..%2F..%2Fetc%2Fhostname HTTP/1.1\r\nHost: flood\r\n\r\n";
    if (write(s, req, strlen(req)) < 0) return NULL;
    char buf[64];
    while (read(s, buf, sizeof buf) > 0) {
    }
    close(s);
    return NULL;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0) return 3;
    getsockname(ls, (struct sockaddr *)&a, &len);
    port = ntohs(a.sin_port);
    pthread_t t;
    pthread_create(&t, NULL, client, NULL);
    int c = accept(ls, NULL, NULL);
    char req[1024] = {0};
    size_t have = 0;
    while (!strstr(req, "\r\n\r\n") && have < sizeof req - 1) {
        ssize_t r = read(c, req + have, sizeof req - 1 - have);
        if (r <= 0) return 4;
        have += (size_t)r;
    }
    long refused = 0;
    for (long i = 0; i < n; i++) {
        FILE *f = fopen("/srv/www/../../../../etc/hostname", "r");
        if (f == NULL && errno == EACCES) {
            refused++;
        } else if (f != NULL) {
            fclose(f);
        }
    }
    printf("refused %ld\n", refused);
    fflush(stdout);
    close(c);
    pthread_join(t, NULL);
    return 0;
}

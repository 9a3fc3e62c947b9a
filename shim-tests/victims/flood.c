/*
 * An attack flood from one request: serves one HTTP request to itself (self_request.h), then
 * calls fopen() with the request's traversal N times in a tight loop — every call a detection.
 * Prints how many calls were refused with EACCES. Usage: flood N
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "self_request.h"

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000;
    char head[1024];
    int c = self_request_open(
        "GET /file?name=..%2F..%2F..%2F..%2Fetc%2Fhostname HTTP/1.1\r\nHost: flood\r\n\r\n", head,
        sizeof head);
    if (c < 0) return 3;
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
    self_request_close(c);
    return 0;
}

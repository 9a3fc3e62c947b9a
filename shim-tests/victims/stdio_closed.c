/*
 * Runs with stdin, stdout and stderr closed, so its own files get fds 0-2. Uses several sink
 * families and writes a report to the file named by argv[1]; the agent must neither crash nor
 * write into the program's files.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int fd = open("/etc/hostname", O_RDONLY);
    char host[256] = {0};
    if (fd < 0 || read(fd, host, sizeof host - 1) < 0) return 3;
    close(fd);
    int rc = system("true");
    FILE *p = popen("echo piped", "r");
    char piped[64] = {0};
    if (!p || !fgets(piped, sizeof piped, p)) return 4;
    pclose(p);
    FILE *out = fopen(argv[1], "w");
    if (!out) return 5;
    fprintf(out, "fd=%d system=%d piped=%s", fd, rc, piped);
    fclose(out);
    return 0;
}

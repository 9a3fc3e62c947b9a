/*
 * A library whose constructor does file I/O before librasp's constructor has run (it is a
 * dependency of the program, so the loader initialises it first). Exercises the agent's
 * pre-initialisation pass-through: raw syscalls, no allocation.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

char early_result[256];

__attribute__((constructor)) static void early(void) {
    int fd = open("/etc/hostname", O_RDONLY);
    if (fd < 0) {
        strcpy(early_result, "open failed");
        return;
    }
    ssize_t n = read(fd, early_result, sizeof early_result - 1);
    early_result[n > 0 ? n : 0] = 0;
    close(fd);
    FILE *f = fopen("/etc/hostname", "r");
    if (f == NULL) {
        strcpy(early_result, "fopen failed");
        return;
    }
    fclose(f);
}

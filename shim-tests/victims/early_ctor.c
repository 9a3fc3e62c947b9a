/* Prints what libearly's constructor read before main (and before librasp initialised). */
#include <stdio.h>

extern char early_result[];

int main(void) {
    fputs(early_result, stdout);
    return 0;
}

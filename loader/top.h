/* `filspy top` (loader/top.c). */
#ifndef FILSPY_TOP_H
#define FILSPY_TOP_H

/* argv[0] == "top"; returns the exit status. */
int top__main(int argc, char **argv);

#endif

/* `filspy attach`: profiling a process that is already running. */
#ifndef FILSPY_ATTACH_H
#define FILSPY_ATTACH_H

/* Turns leading --options into environment variables (the settings table's
 * names); returns the index of the first other argument, or -1 after printing a
 * usage error. Defined in filspy.c. */
int cli__apply_options(int argc, char **argv, int i);

/* The agent next to the filspy binary (build/) or in ../lib (installed), unless
 * FILSPY_LIBRARY names it. Returns 0, or -errno. Defined in filspy.c. */
int cli__find_library(char *out, size_t size);

/* argv[0] == "attach"; returns the exit status. */
int attach__main(int argc, char **argv);

#endif

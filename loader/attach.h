/* `filspy attach`: profiling a process that is already running. */
#ifndef FILSPY_ATTACH_H
#define FILSPY_ATTACH_H

/* Turns leading --options into environment variables (the settings table's
 * names); returns the index of the first other argument, or -1 after printing a
 * usage error. Defined in filspy.c. */
int cli__apply_options(int argc, char **argv, int i);

/* argv[0] == "attach"; returns the exit status. */
int attach__main(int argc, char **argv);

#endif

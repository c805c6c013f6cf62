/* `filspy attach`: profiling a process that is already running. */
#ifndef FILSPY_ATTACH_H
#define FILSPY_ATTACH_H

/* argv[0] == "attach"; returns the exit status. */
int attach__main(int argc, char **argv);

#endif

/* `filspy dump` (loader/dump.c). */
#ifndef FILSPY_DUMP_H
#define FILSPY_DUMP_H

/* argv[0] == "dump"; returns the exit status. */
int dump__main(int argc, char **argv);

#endif

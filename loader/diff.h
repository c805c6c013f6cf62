/* `filspy diff`: differential flamegraph of two raw profiles. */
#ifndef FILSPY_DIFF_H
#define FILSPY_DIFF_H

/* argv[0] == "diff"; returns the exit status (2 on bad usage or input). */
int diff__main(int argc, char **argv);

#endif

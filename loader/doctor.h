/* `filspy doctor`: what this host allows each backend, found by trying. */
#ifndef FILSPY_DOCTOR_H
#define FILSPY_DOCTOR_H

/* argv[0] == "doctor"; prints a table (or JSON with --json); returns the exit
 * status: 0 when the checks could run, 2 on bad usage. */
int doctor__main(int argc, char **argv);

#endif

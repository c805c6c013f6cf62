/* `filspy doctor`: what this host allows each backend, found by trying. */
#ifndef FILSPY_DOCTOR_H
#define FILSPY_DOCTOR_H

/* argv[0] == "doctor"; prints a table (or one JSON object with --json) of the
 * checks, the CPython interpreters found and the backend `auto` would use.
 * Returns the exit status: 0 when the checks could run (whatever they found),
 * 2 on bad usage, 1 when the report cannot be written. */
int doctor__main(int argc, char **argv);

#endif

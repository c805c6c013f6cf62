/* Converting and comparing raw profiles: `filspy report` and `filspy diff`. */
#ifndef FILSPY_REPORT_H
#define FILSPY_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "filspy/profile.h"
#include "filspy/writers.h"

/* Reads a folded-stack file (path or "-") into a new profile. Prints one
 * `filspy:` line naming the file and line on error. Returns 0 or -errno. */
int report__load(const char *path, fs_profile **out);

/* report__load, with lines false: frames keep their function and file, not
 * their line ("f (a.py)"), so one function is one frame per path. */
int report__load_by(const char *path, bool lines, fs_profile **out);

/* Writes path ("-": stdout) through writer, aside then renamed
 * (atomic_file__write), so a failed write leaves no partial file. Returns 0 or
 * -errno (after printing why). */
int report__write_file(const char *path, fs_file_writer writer, void *ctx);

/* `filspy report ...` (argv[0] == "report"); returns the exit status. */
int report__main(int argc, char **argv);

#endif

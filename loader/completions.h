/* `filspy completions bash|zsh|fish` (loader/completions.c). */
#ifndef FILSPY_COMPLETIONS_H
#define FILSPY_COMPLETIONS_H

/* argv[0] == "completions", argv[1] the shell; prints the script on stdout.
 * Returns the exit status. */
int completions__main(int argc, char **argv);

#endif

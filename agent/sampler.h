/* The sampler thread: finds the interpreter, chooses a backend, samples at the
 * rate asked, checkpoints, and writes the files when the session ends. */
#ifndef FILSPY_SAMPLER_H
#define FILSPY_SAMPLER_H

/* The thread's body; arg is the fs_agent. */
void *sampler__main(void *arg);

#endif

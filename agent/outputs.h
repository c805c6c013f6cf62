/* Writing a session's files: the formats asked for at the end, the raw checkpoint
 * while it runs. Runs on the sampler thread. */
#ifndef FILSPY_OUTPUTS_H
#define FILSPY_OUTPUTS_H

#include <stdbool.h>

struct fs_agent;

/* Writes the requested formats (final) or the raw checkpoint (final == false). */
void outputs__write(struct fs_agent *a, bool final);
void outputs__remove_checkpoint(struct fs_agent *a);

/* Checks that the output directory exists or can be made and is writable.
 * Returns 0, or -errno after printing why. */
int outputs__prepare_dir(struct fs_agent *a);

#endif

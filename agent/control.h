/* The control socket (agent/control.c) that `filspy dump`, `top` and `attach` talk
 * to, served by the sampler thread. */
#ifndef FILSPY_CONTROL_H
#define FILSPY_CONTROL_H

#include <stdbool.h>

struct fs_agent;

int control__open(struct fs_agent *a);
void control__serve(struct fs_agent *a);
void control__close(struct fs_agent *a, bool remove);

#endif

/* The backends by name, in the order `auto` tries them: the one list that the
 * settings, the help text, the agent's chooser and `filspy doctor` all read. */
#ifndef FILSPY_BACKENDS_H
#define FILSPY_BACKENDS_H

enum fs_backend_choice { FS_BACKEND_AUTO, FS_BACKEND_BPF, FS_BACKEND_PYSPY, FS_BACKEND_SELF };

typedef struct fs_backend_info {
	enum fs_backend_choice choice;
	const char *name;
	const char *what;     /* one line for people: how it samples */
} fs_backend_info;

/* bpf, pyspy, self: auto's order, terminated by an entry whose name is NULL. */
extern const fs_backend_info backends__order[];

/* "auto", "bpf", ... for a choice. */
const char *backends__name(enum fs_backend_choice choice);

/* The choice named name (case-insensitive, "auto" included), or -1. */
int backends__parse(const char *name);

/* "auto, bpf, pyspy, self": every name a setting accepts, for messages. */
const char *backends__names(void);

#endif

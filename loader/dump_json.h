/* `filspy dump --json` (loader/dump_json.c). */
#ifndef FILSPY_DUMP_JSON_H
#define FILSPY_DUMP_JSON_H

#include <stdio.h>

/* Turns the agent's dump text ("Process PID: ...", then per thread `Thread TID
 * (STATE): "NAME"` and its frames innermost first) into py-spy's `dump --json`
 * shape on out: a list of threads with pid, thread_id, thread_name,
 * os_thread_id, active, owns_gil and frames (name, filename, module,
 * short_filename, line, locals, is_entry). text is modified. Returns 0, or -1
 * when text is not a dump. */
int dump_json__print(char *text, FILE *out);

#endif

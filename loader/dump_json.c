/* `filspy dump --json`: the agent's text dump in the JSON shape of py-spy's
 * `dump --json`, so tools that read py-spy's read ours. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filspy/folded.h"
#include "dump_json.h"

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* ends the open thread's frame list: the last frame printed is its entry */
static void close_thread(FILE *out, bool *open, bool any_frame)
{
	if (!*open)
		return;
	if (any_frame)
		fprintf(out, ", \"is_entry\": true}");
	fprintf(out, "], \"process_info\": null}");
	*open = false;
}

int dump_json__print(char *text, FILE *out)
{
	long pid = 0;
	bool open = false, any_thread = false, any_frame = false;
	if (sscanf(text, "Process %ld:", &pid) != 1)
		return -1;
	fputc('[', out);
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		int tid;
		char state[64], name[256];
		if (sscanf(l, "Thread %d (%63[^)]): \"%255[^\"]\"", &tid, state, name) == 3) {
			close_thread(out, &open, any_frame);
			fprintf(out, "%s{\"pid\": %ld, \"thread_id\": %d, \"thread_name\": ",
				any_thread ? ", " : "", pid, tid);
			json_string(out, name);
			fprintf(out, ", \"os_thread_id\": %d, \"active\": %s, \"owns_gil\": %s, "
				     "\"state\": ", tid, strncmp(state, "active", 6) ? "false" : "true",
				strstr(state, "+gil") ? "true" : "false");
			json_string(out, state);
			fprintf(out, ", \"frames\": [");
			open = any_thread = true;
			any_frame = false;
			continue;
		}
		if (!open || strncmp(l, "    ", 4) || l[4] == '(')
			continue; /* headers, and notes such as "(the stack changed ...)" */
		char *fname, *file;
		int line;
		folded__split_frame(l + 4, &fname, &file, &line);
		if (any_frame)
			fprintf(out, ", \"is_entry\": false}, ");
		fprintf(out, "{\"name\": ");
		json_string(out, fname);
		fprintf(out, ", \"filename\": ");
		json_string(out, file);
		fprintf(out, ", \"module\": null, \"short_filename\": ");
		json_string(out, file);
		fprintf(out, ", \"line\": %d, \"locals\": null", line);
		any_frame = true;
	}
	close_thread(out, &open, any_frame);
	fprintf(out, "]\n");
	return 0;
}

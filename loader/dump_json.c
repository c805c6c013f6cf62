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

/* Where the conversion is: the thread and frame open, the open frame's locals
 * (-1: none listed), and whether the locals read now are arguments. */
struct state {
	FILE *out;
	bool thread, frame, any_thread, arg;
	int locals;
};

/* the last frame of a thread is where it entered */
static void close_frame(struct state *s, bool entry)
{
	if (!s->frame)
		return;
	fprintf(s->out, s->locals < 0 ? ", \"locals\": null" : "]");
	fprintf(s->out, ", \"is_entry\": %s}", entry ? "true" : "false");
	s->frame = false;
}

static void close_thread(struct state *s)
{
	if (!s->thread)
		return;
	close_frame(s, true);
	fprintf(s->out, "], \"process_info\": null}");
	s->thread = false;
}

static void thread(struct state *s, long pid, int tid, const char *state, const char *name)
{
	close_thread(s);
	fprintf(s->out, "%s{\"pid\": %ld, \"thread_id\": %d, \"thread_name\": ",
		s->any_thread ? ", " : "", pid, tid);
	json_string(s->out, name);
	fprintf(s->out, ", \"os_thread_id\": %d, \"active\": %s, \"owns_gil\": %s, \"state\": ", tid,
		strncmp(state, "active", 6) ? "false" : "true", strstr(state, "+gil") ? "true" : "false");
	json_string(s->out, state);
	fprintf(s->out, ", \"frames\": [");
	s->thread = s->any_thread = true;
}

static void frame(struct state *s, char *text)
{
	bool first = !s->frame && s->thread;
	char *name, *file;
	int line;
	close_frame(s, false);
	folded__split_frame(text, &name, &file, &line);
	fprintf(s->out, "%s{\"name\": ", first ? "" : ", ");
	json_string(s->out, name);
	fprintf(s->out, ", \"filename\": ");
	json_string(s->out, file);
	fprintf(s->out, ", \"module\": null, \"short_filename\": ");
	json_string(s->out, file);
	fprintf(s->out, ", \"line\": %d", line);
	s->frame = true;
	s->locals = -1;
}

static void local(struct state *s, char *text)
{
	char *colon = strstr(text, ": ");
	if (!colon || !s->frame)
		return;
	*colon = 0;
	fprintf(s->out, "%s{\"name\": ", s->locals < 0 ? ", \"locals\": [" : s->locals ? ", " : "");
	json_string(s->out, text);
	fprintf(s->out, ", \"addr\": null, \"arg\": %s, \"repr\": ", s->arg ? "true" : "false");
	json_string(s->out, colon + 2);
	fputc('}', s->out);
	s->locals = s->locals < 0 ? 1 : s->locals + 1;
}

int dump_json__print(char *text, FILE *out)
{
	long pid = 0;
	struct state s = { .out = out, .locals = -1 };
	if (sscanf(text, "Process %ld:", &pid) != 1)
		return -1;
	fputc('[', out);
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		int tid;
		char state[64], name[256];
		if (sscanf(l, "Thread %d (%63[^)]): \"%255[^\"]\"", &tid, state, name) == 3)
			thread(&s, pid, tid, state, name);
		else if (!strcmp(l, "        Arguments:") || !strcmp(l, "        Locals:"))
			s.arg = l[8] == 'A';
		else if (!strncmp(l, "            ", 12))
			local(&s, l + 12);
		else if (s.thread && !strncmp(l, "    ", 4) && l[4] != ' ' && l[4] != '(')
			frame(&s, l + 4); /* not the notes such as "(the stack changed ...)" */
	}
	close_thread(&s);
	fprintf(out, "]\n");
	return 0;
}

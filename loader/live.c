/* The control socket of the agent inside a running process, which `dump`, `top`
 * and `attach` ask (no ptrace needed). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "filspy/folded.h"
#include "filspy/control_protocol.h"
#include "filspy/log.h"
#include "live.h"

#define EXIT_USAGE 2

bool live__answers(long pid)
{
	char *info = live__ask(pid, CONTROL_INFO);
	free(info);
	return info != NULL;
}

char *live__ask(long pid, const char *cmd)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	control_protocol__sweep(control_protocol__uid_of(pid)); /* SIGKILL's leftovers */
	/* the agent's socket lives under the target's uid */
	control_protocol__path(control_protocol__uid_of(pid), pid, addr.sun_path, sizeof(addr.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = errno == ECONNREFUSED ? ENOENT : errno;
		close(fd);
		errno = err;
		return NULL;
	}
	struct timeval t = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof(t));
	/* the command and its newline in one piece; MSG_NOSIGNAL: an agent that is
	 * ending its session may accept and close before it reads, and a write's
	 * SIGPIPE would end us (not it) */
	char line[64];
	int line_len = snprintf(line, sizeof(line), "%s\n", cmd);
	if (line_len < 0 || (size_t)line_len >= sizeof(line) ||
	    send(fd, line, (size_t)line_len, MSG_NOSIGNAL) < 0) {
		close(fd);
		return NULL;
	}
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	ssize_t n;
	while (buf && (n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 4096) {
			char *g = realloc(buf, cap * 2);
			if (!g) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = g;
			cap *= 2;
		}
	}
	close(fd);
	if (buf)
		buf[len] = 0;
	return buf;
}

/* The PID operand, or --pid PID / -p PID / --pid=PID (py-spy's spelling); the
 * options were checked against the command's table (loader/commands.c) already. */
long live__parse_pid(int argc, char **argv, const char *usage)
{
	const char *text = NULL;
	for (int i = 1; i < argc && !text; i++) {
		if (!strcmp(argv[i], "--pid") || !strcmp(argv[i], "-p"))
			text = i + 1 < argc ? argv[i + 1] : NULL;
		else if (!strncmp(argv[i], "--pid=", 6))
			text = argv[i] + 6;
		else if (argv[i][0] == '-')
			i += !strcmp(argv[i], "--iterations") || !strcmp(argv[i], "--sort") ||
			     !strcmp(argv[i], "--delay");
		else
			text = argv[i];
	}
	char *end = "";
	long pid = text ? strtol(text, &end, 10) : 0;
	if (!text || *end || pid <= 0) {
		fs_error("%s", usage);
		return -1;
	}
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
		fs_error("no process %ld", pid);
		return -1;
	}
	return pid;
}

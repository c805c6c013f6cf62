/* stderr messages of the agent and the filspy command. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "filspy/log.h"

static int log_quiet;
static int log_debug;

void log__configure(int quiet, int debug)
{
	log_quiet = quiet;
	log_debug = debug;
}

void log__msg(enum fs_log_level level, const char *fmt, ...)
{
	if ((level == FS_LOG_INFO && log_quiet) || (level == FS_LOG_DEBUG && !log_debug))
		return;
	int saved_errno = errno; /* callers format strerror(errno) after us; keep it */
	char line[1024];
	static const char prefix[] = "filspy: ";
	memcpy(line, prefix, sizeof(prefix) - 1);
	size_t at = sizeof(prefix) - 1;
	if (level == FS_LOG_DEBUG) {
		memcpy(line + at, "debug: ", 7);
		at += 7;
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line + at, sizeof(line) - at - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	at += (size_t)n < sizeof(line) - at - 1 ? (size_t)n : sizeof(line) - at - 2;
	line[at++] = '\n';
	ssize_t w;
	do
		w = write(STDERR_FILENO, line, at);
	while (w < 0 && errno == EINTR);
	errno = saved_errno;
}

/* One-line messages on stderr, each prefixed "filspy: ". Never stdout. */
#ifndef FILSPY_LOG_H
#define FILSPY_LOG_H

enum fs_log_level { FS_LOG_ERROR, FS_LOG_WARN, FS_LOG_INFO, FS_LOG_DEBUG };

/* Informational lines are dropped when quiet; debug lines unless debug is on. */
void log__configure(int quiet, int debug);

/* Formats one line (at most 1 KiB, longer is cut) and writes it with a single
 * write(2) so lines of several processes never interleave. */
void log__msg(enum fs_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define fs_error(...) log__msg(FS_LOG_ERROR, __VA_ARGS__)
#define fs_warn(...) log__msg(FS_LOG_WARN, __VA_ARGS__)
#define fs_info(...) log__msg(FS_LOG_INFO, __VA_ARGS__)
#define fs_debug(...) log__msg(FS_LOG_DEBUG, __VA_ARGS__)

#endif

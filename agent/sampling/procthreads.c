/* Thread run state, blocking system call and names from /proc/self/task, with the
 * files kept open so a check costs one pread per thread and sample. Used by the
 * sampler thread only. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procthreads.h"

#define MAX_TRACKED 512

struct tracked {
	int tid;
	int stat_fd;
	int syscall_fd;  /* -1 until procthreads__syscall asks */
	int schedstat_fd; /* -1 until procthreads__cpu_ns asks */
	char name[20];
};

/* on the heap, not in .bss: processes that never profile never pay for it */
static struct tracked *tracked;
static int n_tracked;

static struct tracked *track(int tid)
{
	if (!tracked && !(tracked = calloc(MAX_TRACKED, sizeof(*tracked))))
		return NULL;
	for (int i = 0; i < n_tracked; i++)
		if (tracked[i].tid == tid)
			return &tracked[i];
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (n_tracked == MAX_TRACKED) { /* many short-lived threads: start over */
		procthreads__forget();
	}
	struct tracked *t = &tracked[n_tracked++];
	t->tid = tid;
	t->stat_fd = fd;
	t->syscall_fd = -1;
	t->schedstat_fd = -1;
	t->name[0] = 0;
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
	int comm = open(path, O_RDONLY | O_CLOEXEC);
	if (comm >= 0) {
		ssize_t n = read(comm, t->name, sizeof(t->name) - 1);
		t->name[n > 0 ? n : 0] = 0;
		char *nl = strchr(t->name, '\n');
		if (nl)
			*nl = 0;
		close(comm);
	}
	return t;
}

static void close_files(struct tracked *t)
{
	close(t->stat_fd);
	if (t->syscall_fd >= 0)
		close(t->syscall_fd);
	if (t->schedstat_fd >= 0)
		close(t->schedstat_fd);
}

static void untrack(struct tracked *t)
{
	close_files(t);
	*t = tracked[--n_tracked];
}

bool procthreads__exists(int tid)
{
	char path[48];
	snprintf(path, sizeof(path), "/proc/self/task/%d", tid);
	return access(path, F_OK) == 0;
}

enum lazy_file { FILE_SYSCALL, FILE_SCHEDSTAT };

/* Reads /proc/self/task/TID/<file>, opened on first use and kept open, into buf
 * as a string. Returns the length, or -1 when the thread is gone (it is then
 * forgotten: its tid may come back as another thread). */
static ssize_t read_file(int tid, enum lazy_file which, char *buf, size_t size)
{
	static const char *const names[] = { "syscall", "schedstat" };
	struct tracked *t = track(tid);
	if (!t)
		return -1;
	int *fd = which == FILE_SYSCALL ? &t->syscall_fd : &t->schedstat_fd;
	if (*fd < 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/task/%d/%s", tid, names[which]);
		if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return -1;
	}
	ssize_t n = pread(*fd, buf, size - 1, 0);
	if (n <= 0) {
		untrack(t);
		return -1;
	}
	buf[n] = 0;
	return n;
}

/* /proc/TID/syscall answers "running" for a runnable thread in 0.7 us where stat
 * takes 4.5 (it formats fifty fields): a running thread is what the sampler asks
 * about most (threadwatch hands it the ones that use CPU). stat is the fallback. */
bool procthreads__running(int tid)
{
	long nr;
	unsigned long arg1;
	int r = procthreads__syscall(tid, &nr, &arg1);
	if (r >= 0)
		return r == 1;
	struct tracked *t = track(tid);
	if (!t)
		return false;
	char buf[512];
	ssize_t n = pread(t->stat_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0) { /* the thread is gone; its tid may come back as another thread */
		untrack(t);
		return false;
	}
	buf[n] = 0;
	const char *paren = strrchr(buf, ')'); /* the name may hold spaces and parens */
	return paren && paren[1] == ' ' && paren[2] == 'R';
}

/* /proc/TID/syscall says "running" for a runnable thread, "NR ARG1 ... SP PC" for
 * one blocked in system call NR, "-1 SP PC" for one blocked outside of any. Reading
 * it is allowed without ptrace rights because the thread is in our own group. */
int procthreads__syscall(int tid, long *nr, unsigned long *arg1)
{
	char buf[256];
	if (read_file(tid, FILE_SYSCALL, buf, sizeof(buf)) < 0)
		return -1;
	if (!strncmp(buf, "running", 7))
		return 1;
	char *end;
	*nr = strtol(buf, &end, 10);
	*arg1 = end != buf && *end == ' ' ? strtoul(end + 1, NULL, 16) : 0;
	return end != buf ? 0 : -1;
}

/* /proc/TID/schedstat's first field: the scheduler's sum_exec_runtime, which it
 * brings up to date when the thread leaves its CPU and at each tick, the same
 * figure CLOCK_PROCESS_CPUTIME_ID adds up over the threads. */
int procthreads__cpu_ns(int tid, uint64_t *ns)
{
	char buf[96];
	if (read_file(tid, FILE_SCHEDSTAT, buf, sizeof(buf)) < 0)
		return -1;
	char *end;
	*ns = strtoull(buf, &end, 10);
	return end != buf ? 0 : -1;
}

const char *procthreads__name(int tid)
{
	struct tracked *t = track(tid);
	return t ? t->name : "";
}

void procthreads__forget(void)
{
	for (int i = 0; i < n_tracked; i++)
		close_files(&tracked[i]);
	n_tracked = 0;
}

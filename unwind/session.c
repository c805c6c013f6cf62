/* The session's Dwfl: the process's own mappings reported to libdwfl, re-read on demand. */
#include <errno.h>
#include <link.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "native.h"

#define REFRESH_NS (100 * 1000 * 1000ull)

/* dwfl_linux_proc_find_elf opens each mapping's file by its path (or reads an
 * ELF image from memory when the file is gone); debug files are found by
 * debuginfo.c, which wraps dwfl_standard_find_debuginfo. */
static char *debuginfo_path = NULL;  /* libdwfl's default search path */
static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = debuginfo__find,
	.debuginfo_path = &debuginfo_path,
};

/* glibc's count of objects loaded so far, passed to every callback */
static int first_only(struct dl_phdr_info *info, size_t size, void *data)
{
	*(unsigned long long *)data = size >= offsetof(struct dl_phdr_info, dlpi_subs)
		? info->dlpi_adds : 0;
	return 1;
}

static unsigned long long loads_so_far(void)
{
	unsigned long long adds = 0;
	dl_iterate_phdr(first_only, &adds);
	return adds;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int session__open(fsnative_session *s, int pid, char *why, size_t why_size)
{
	s->pid = pid;
	s->dwfl = dwfl_begin(&callbacks);
	if (!s->dwfl) {
		snprintf(why, why_size, "libdwfl: dwfl_begin: %s", dwfl_errmsg(-1));
		return -ENOMEM;
	}
	s->loads = loads_so_far();
	dwfl_report_begin(s->dwfl);
	int err = dwfl_linux_proc_report(s->dwfl, pid);
	/* report_end even after an error: the modules read so far still count */
	if (dwfl_report_end(s->dwfl, NULL, NULL) != 0 || err != 0) {
		snprintf(why, why_size, "libdwfl: reading /proc/%d/maps: %s", pid,
			 err > 0 ? strerror(err) : dwfl_errmsg(-1));
		return err > 0 ? -err : -EIO;
	}
	s->last_report_ns = now_ns();
	return 0;
}

/* begin_add keeps the modules already reported (their names and symbols are
 * what earlier answers point to) and adds the mappings new since. A library
 * unloaded and another loaded over its addresses is not noticed: libdwfl keeps
 * the first. */
int session__refresh(fsnative_session *s)
{
	uint64_t now = now_ns();
	if (now - s->last_report_ns < REFRESH_NS)
		return -EAGAIN;
	s->last_report_ns = now;
	s->loads = loads_so_far();
	dwfl_report_begin_add(s->dwfl);
	int err = dwfl_linux_proc_report(s->dwfl, s->pid);
	if (dwfl_report_end(s->dwfl, NULL, NULL) != 0 || err != 0)
		return -EIO;
	return 0;
}

void session__follow_loads(fsnative_session *s)
{
	if (loads_so_far() != s->loads) {
		s->last_report_ns = 0;  /* not rate-limited: the loader says it changed */
		session__refresh(s);
	}
}

void session__close(fsnative_session *s)
{
	if (s->dwfl)
		dwfl_end(s->dwfl);
	s->dwfl = NULL;
}

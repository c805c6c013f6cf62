/* The ptrace injector of `filspy attach`: one remote call at a time on the
 * target's main thread, each returning to address 0 so that the fault stops it
 * again; then the thread's registers are restored as they were. x86-64 only. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "inject.h"

#define SAFE_POINT_TRIES 400
#define CALL_TIMEOUT_MS 5000

struct range {
	uintptr_t start, end;
};

struct target {
	pid_t pid;
	int mem;                  /* /proc/PID/mem */
	uintptr_t libc_base;      /* where libc.so.6 starts in the target */
	struct range unsafe[8];   /* libc and loader code: no call while inside */
	int n_unsafe;
	int pending_signal;       /* a signal that arrived during our calls: given back */
};

/* Start of libc's first mapping and the code ranges of libc and the loader. */
static int read_maps(struct target *t, char *libc_path, size_t size)
{
	char path[64], line[4096];
	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end, offset;
		char perms[8], file[3000] = "";
		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %2999s", &start, &end, perms, &offset, file) < 4)
			continue;
		bool libc = strstr(file, "/libc.so.6") || strstr(file, "/libc-2.");
		bool loader = strstr(file, "/ld-linux");
		if (libc && offset == 0 && !t->libc_base) {
			t->libc_base = start;
			snprintf(libc_path, size, "%s", file);
		}
		if ((libc || loader) && perms[2] == 'x' && t->n_unsafe < 8)
			t->unsafe[t->n_unsafe++] = (struct range){ start, end };
	}
	fclose(f);
	return t->libc_base ? 0 : -ENOENT;
}

static int find_own_libc(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	if (info->dlpi_name && (strstr(info->dlpi_name, "/libc.so.6") || strstr(info->dlpi_name, "/libc-2."))) {
		*(uintptr_t *)data = info->dlpi_addr;
		return 1;
	}
	return 0;
}

/* The target's address of a libc function: same file, same offset as ours. */
static uintptr_t remote_libc(const struct target *t, const char *name)
{
	uintptr_t own_base = 0;
	dl_iterate_phdr(find_own_libc, &own_base);
	void *own = dlsym(RTLD_DEFAULT, name);
	if (!own || !own_base)
		return 0;
	return t->libc_base + ((uintptr_t)own - own_base);
}

static int wait_stop(struct target *t, int *sig)
{
	int status;
	for (int waited = 0; waited < CALL_TIMEOUT_MS; waited++) {
		pid_t r = waitpid(t->pid, &status, __WALL | WNOHANG);
		if (r == t->pid) {
			if (!WIFSTOPPED(status))
				return -ESRCH; /* it died */
			*sig = WSTOPSIG(status);
			return 0;
		}
		if (r < 0)
			return -errno;
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
	return -ETIMEDOUT;
}

static bool at_safe_point(const struct target *t, const struct user_regs_struct *r)
{
	/* stopped in a system call: it holds no libc lock we could need */
	if ((long)r->orig_rax >= 0)
		return true;
	for (int i = 0; i < t->n_unsafe; i++)
		if (r->rip >= t->unsafe[i].start && r->rip < t->unsafe[i].end)
			return false;
	return true;
}

/* Interrupts the thread until it is stopped somewhere safe. */
static int stop_safely(struct target *t, struct user_regs_struct *saved)
{
	for (int i = 0; i < SAFE_POINT_TRIES; i++) {
		int sig;
		if (ptrace(PTRACE_INTERRUPT, t->pid, 0, 0) < 0)
			return -errno;
		int err = wait_stop(t, &sig);
		if (err)
			return err;
		if (sig != SIGTRAP) /* a real signal for it: give it back later */
			t->pending_signal = sig;
		if (ptrace(PTRACE_GETREGS, t->pid, 0, saved) < 0)
			return -errno;
		if (at_safe_point(t, saved))
			return 0;
		ptrace(PTRACE_CONT, t->pid, 0, 0);
		struct timespec nap = { 0, 2000000 };
		nanosleep(&nap, NULL);
	}
	return -EAGAIN;
}

/* The interrupted code may hold live values in any vector register (the compiler
 * keeps them there between instructions, not only across calls), and dlopen and
 * the agent clobber them: the whole extended state (x87, SSE, AVX, AVX-512) is
 * saved with the general registers and put back with them. Without this a target
 * stopped inside pymalloc crashed about once in 15 attaches. */
struct vector_state {
	unsigned char area[16384] __attribute__((aligned(64)));
	struct iovec iov;
	bool saved;
};

static void save_vectors(pid_t pid, struct vector_state *v)
{
	v->iov = (struct iovec){ v->area, sizeof(v->area) };
	v->saved = ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &v->iov) == 0;
	if (!v->saved) { /* no XSAVE: x87 and SSE only */
		v->iov = (struct iovec){ v->area, sizeof(struct user_fpregs_struct) };
		v->saved = ptrace(PTRACE_GETFPREGS, pid, 0, v->area) == 0;
		v->iov.iov_base = NULL;
	}
}

static int restore_vectors(pid_t pid, struct vector_state *v)
{
	if (!v->saved)
		return 0;
	long r = v->iov.iov_base ? ptrace(PTRACE_SETREGSET, pid, (void *)NT_X86_XSTATE, &v->iov)
				 : ptrace(PTRACE_SETFPREGS, pid, 0, v->area);
	return r < 0 ? -errno : 0;
}

static int poke(struct target *t, uintptr_t addr, const void *data, size_t len)
{
	return pwrite(t->mem, data, len, (off_t)addr) == (ssize_t)len ? 0 : -EIO;
}

/* Calls fn(a1, a2) on the stopped thread and returns its result in *ret. */
static int remote_call(struct target *t, const struct user_regs_struct *saved, uintptr_t fn,
		       uintptr_t a1, uintptr_t a2, uintptr_t *ret)
{
	struct user_regs_struct r = *saved;
	/* below the red zone and the strings we wrote, 16-byte aligned at the call */
	uintptr_t sp = ((saved->rsp - 8192) & ~(uintptr_t)15) - 8;
	uintptr_t zero = 0;
	if (poke(t, sp, &zero, sizeof(zero)) < 0)
		return -EIO;
	r.rsp = sp;
	r.rip = fn;
	r.rdi = a1;
	r.rsi = a2;
	r.rax = 0;
	r.orig_rax = (unsigned long long)-1; /* no system-call restart on our call */
	if (ptrace(PTRACE_SETREGS, t->pid, 0, &r) < 0 || ptrace(PTRACE_CONT, t->pid, 0, 0) < 0)
		return -errno;
	for (;;) {
		int sig, err = wait_stop(t, &sig);
		if (err)
			return err;
		if (ptrace(PTRACE_GETREGS, t->pid, 0, &r) < 0)
			return -errno;
		if (sig == SIGSEGV && r.rip == 0)
			break; /* returned to our zero address */
		if (sig != SIGTRAP && sig != SIGSTOP)
			t->pending_signal = sig;
		if (ptrace(PTRACE_CONT, t->pid, 0, 0) < 0)
			return -errno;
	}
	*ret = r.rax;
	return 0;
}

int inject__agent(pid_t pid, const char *library, const char *settings, char *why, size_t size)
{
	struct target t = { .pid = pid, .mem = -1 };
	char libc_path[3000] = "", path[64];
	struct user_regs_struct saved;
	static struct vector_state vectors;
	int err = read_maps(&t, libc_path, sizeof(libc_path));
	if (err) {
		snprintf(why, size, "no libc.so.6 in process %d", pid);
		return err;
	}
	uintptr_t dlopen_at = remote_libc(&t, "dlopen"), dlsym_at = remote_libc(&t, "dlsym");
	if (!dlopen_at || !dlsym_at) {
		snprintf(why, size, "cannot locate dlopen in the target's libc");
		return -ENOENT;
	}
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0) {
		err = -errno;
		snprintf(why, size, "ptrace refused: %s", strerror(errno));
		return err;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	t.mem = open(path, O_RDWR | O_CLOEXEC);
	err = t.mem < 0 ? -errno : stop_safely(&t, &saved);
	if (err) {
		snprintf(why, size, "could not stop the process at a safe point: %s", strerror(-err));
		goto detach;
	}
	save_vectors(pid, &vectors);
	if (!vectors.saved) {
		err = -EIO;
		snprintf(why, size, "cannot save the thread's vector registers: %s", strerror(errno));
		goto detach;
	}
	/* the strings go under the thread's stack pointer, past the red zone */
	uintptr_t lib_at = (saved.rsp - 4096) & ~(uintptr_t)15;
	uintptr_t name_at = lib_at + 1024, settings_at = lib_at + 1100;
	size_t settings_len = strlen(settings) + 1;
	if (strlen(library) >= 1024 || settings_len > 2900 ||
	    poke(&t, lib_at, library, strlen(library) + 1) < 0 ||
	    poke(&t, name_at, "filspy_attach", 14) < 0 ||
	    poke(&t, settings_at, settings, settings_len) < 0) {
		err = -EIO;
		snprintf(why, size, "cannot write into the process's memory");
		goto restore;
	}
	uintptr_t handle = 0, entry = 0, result = 0;
	err = remote_call(&t, &saved, dlopen_at, lib_at, RTLD_NOW, &handle);
	if (!err && !handle)
		err = -ENOENT, snprintf(why, size, "dlopen(%s) failed in the process", library);
	if (!err)
		err = remote_call(&t, &saved, dlsym_at, handle, name_at, &entry);
	if (!err && !entry)
		err = -ENOENT, snprintf(why, size, "filspy_attach not found in %s", library);
	if (!err)
		err = remote_call(&t, &saved, entry, settings_at, 0, &result);
	if (err && !why[0])
		snprintf(why, size, "a call into the process failed: %s", strerror(-err));
restore:
	if ((restore_vectors(pid, &vectors) < 0 || ptrace(PTRACE_SETREGS, pid, 0, &saved) < 0) &&
	    !err) {
		err = -errno;
		snprintf(why, size, "cannot restore the registers: %s", strerror(errno));
	}
detach:
	ptrace(PTRACE_DETACH, pid, 0, (void *)(intptr_t)t.pending_signal);
	if (t.mem >= 0)
		close(t.mem);
	if (!err && (int)result != 0) {
		snprintf(why, size, "the agent did not start in the process (filspy_attach returned %d: a Python "
			 "it cannot read, or its output directory refused; see the process's stderr)", (int)result);
		return -EINVAL;
	}
	return err;
}

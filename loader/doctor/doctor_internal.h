/* What the parts of `filspy doctor` share: the host's facts, the trials' results,
 * the list of checks found and the interpreters. Private to loader/doctor/. */
#ifndef FILSPY_DOCTOR_INTERNAL_H
#define FILSPY_DOCTOR_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/utsname.h>

#define DOCTOR_TIMEOUT_MS 5000 /* for each program doctor runs, and the traced child */
#define DOCTOR_TEXT 512        /* a detail or fix line */
#define DOCTOR_BTF_PATH "/sys/kernel/btf/vmlinux"

/* Capabilities the backends care about (bit numbers of CapEff). */
#define CAP_SYS_PTRACE_BIT 19
#define CAP_SYS_ADMIN_BIT 21
#define CAP_PERFMON_BIT 38
#define CAP_BPF_BIT 39

struct check {
	const char *name;
	const char *status; /* "ok", "no" or "unknown" */
	char detail[DOCTOR_TEXT];
	char fix[DOCTOR_TEXT];
};

/* What the host says about itself; -1 where a file or field is absent. */
struct host {
	struct utsname uts;
	int uts_err; /* errno of uname, 0 when it worked */
	int kmajor, kminor;
	int unpriv_bpf, paranoid, yama;
	unsigned long long caps;
	bool caps_known;
	int seccomp, seccomp_filters, tracer_pid;
	const char *container; /* what gave a container away, or NULL */
	int btf_err;           /* errno of opening or reading DOCTOR_BTF_PATH, 0 when read */
	bool btf_magic;        /* it starts with the BTF magic */
};

/* What the trials found: 0 when allowed, else the errno of the refusal. */
struct trials {
	int bpf;          /* BPF_PROG_LOAD of a perf-event program */
	int perf;         /* perf_event_open of a sampling CPU clock on ourselves */
	int trace_child;  /* we PTRACE_SEIZE a child of ours */
	int trace_parent; /* a child, granted PR_SET_PTRACER, seizes us */
	int vm_readv;     /* process_vm_readv of our own memory */
};

struct python {
	char path[PATH_MAX];
	char version[32];
	const char *supported;
	int shared;    /* 1 shared libpython, 0 static, -1 unknown */
	char note[96]; /* why the version is unknown */
	dev_t dev;
	ino_t ino;
};

/* A capability the report names, in doctor_host__caps (ended by a NULL name). */
struct doctor_cap {
	int bit;
	const char *name;
};

/* host.c: reading the host */
extern const struct doctor_cap doctor_host__caps[];
void doctor_host__read(struct host *h);
bool doctor_host__has_cap(const struct host *h, int bit);
bool doctor_host__kernel_at_least(const struct host *h, int major, int minor);

/* trials.c: asking the kernel for real */
void doctor_trials__run(struct trials *t);

/* results.c: the checks found, in the order they are reported. The returned check
 * stays ours; its fix is empty until doctor_results__fix. */
struct check *doctor_results__add(const char *name, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void doctor_results__fix(struct check *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends to a detail, fix or sentence being built in buf (cut at size). */
void doctor_results__append(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool doctor_results__is_ok(const char *name);
/* The i-th check, or NULL past the last. */
const struct check *doctor_results__at(int i);

/* checks.c, ptrace.c, bpf_program.c: what the host and the trials mean, with fixes */
void doctor_checks__kernel(const struct host *h);
void doctor_checks__btf(const struct host *h);
void doctor_checks__bpf(const struct host *h, const struct trials *t);
void doctor_checks__perf(const struct host *h, const struct trials *t);
void doctor_checks__caps(const struct host *h);
void doctor_checks__seccomp(const struct host *h, const struct trials *t);
void doctor_checks__vm_readv(const struct host *h, const struct trials *t);
void doctor_checks__pyspy(void);
void doctor_ptrace__check(const struct host *h, const struct trials *t);
void doctor_ptrace__check_yama(const struct host *h);
void doctor_bpf_program__check(const struct host *h);

/* run.c: running a program for a check. Its first line of output into out;
 * returns its wait status, or -errno (-ETIMEDOUT when it was killed). */
int doctor_run__line(char *const argv[], char *out, size_t size);
bool doctor_run__ok(int rc);
/* What went wrong with a doctor_run__line, for a detail line ("exited with ..."). */
const char *doctor_run__failure(int rc, char *buf, size_t size);

/* pythons.c: the CPython interpreters found, by version; NULL past the last */
void doctor_pythons__find(void);
const struct python *doctor_pythons__at(int i);

/* print.c: the report */
void doctor_print__table(const char *backend, const char *why);
void doctor_print__json(const struct host *h, const char *backend, const char *why);

#endif

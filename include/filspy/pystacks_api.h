/* The interface of libfilspy-bpf.so, the part of the bpf backend that needs libbpf
 * (and through it libelf and zlib). The light preload never links it: the sampling
 * thread dlopens it and looks up the one exported symbol, fsbpf_interface. */
#ifndef FILSPY_BPF_SESSION_H
#define FILSPY_BPF_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "filspy/pystacks.h"

#define FSBPF_INTERFACE_VERSION 6  /* 6: FSBPF_NO_PYTHON records */
#define FSBPF_INTERFACE_SYMBOL "fsbpf_interface"

typedef struct fsbpf_session fsbpf_session;

/* Called for each record drained from the ring buffer. */
typedef void (*fsbpf_record_fn)(void *ctx, const struct fsbpf_sample *head,
				const struct fsbpf_frame *frames);

typedef struct fsbpf_interface {
	int version;  /* FSBPF_INTERFACE_VERSION */
	/* Loads the program with plan, opens a CPU-clock perf event per online CPU at
	 * rate_hz and attaches the program to each; with off_cpu, also the sched_switch
	 * program (FSBPF_OFF_CPU and FSBPF_ON_CPU records). Returns NULL with why
	 * filled in (a sentence naming the step and the kernel's answer). */
	fsbpf_session *(*open)(const struct fsbpf_plan *plan, int rate_hz, int off_cpu,
			       char *why, size_t why_size);
	/* Tells the program which PyThreadState runs on kernel thread tid; tstate 0
	 * forgets the thread. Returns 0 or -errno. */
	int (*set_thread)(fsbpf_session *s, uint64_t tid, uint64_t tstate);
	/* Gives every CPU's clock event a new sampling period, which restarts it now.
	 * Returns 0 or -errno. */
	int (*set_period)(fsbpf_session *s, uint64_t period_ns);
	/* Hands every record waiting in the ring buffer to fn. Returns how many. */
	int (*drain)(fsbpf_session *s, fsbpf_record_fn fn, void *ctx);
	/* A descriptor that poll() finds readable when the program asks for a drain
	 * now (the ring buffer filling up, a thread to map); records otherwise wait
	 * for the agent's own clock. */
	int (*wait_fd)(fsbpf_session *s);
	/* The program's counters, summed over CPUs (enum fsbpf_stat). */
	void (*stats)(fsbpf_session *s, uint64_t out[FSBPF_STAT_COUNT]);
	/* Detaches and frees everything. */
	void (*close)(fsbpf_session *s);
	/* In a forked child: closes the session's descriptors (the parent's events
	 * must not live on in the child) without touching memory the parent owns. */
	void (*drop_after_fork)(fsbpf_session *s);
} fsbpf_interface_t;

#endif

/* libfilspy-bpf.so: loads bpf/pystacks.bpf.c through its generated skeleton, opens
 * one CPU-clock perf event per CPU, attaches the program to each, and drains the
 * ring buffer for the agent. Only fsbpf_interface is exported. */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "filspy/pystacks_api.h"
#include "pystacks.skel.h"

struct fsbpf_session {
	struct pystacks *skel;
	struct ring_buffer *rb;
	int ncpus;
	int *perf_fds;
	struct bpf_link **links;
	struct bpf_link *switch_link;  /* sched_switch, when off-CPU time is asked */
	fsbpf_record_fn fn;  /* for the ring-buffer callback during drain */
	void *fn_ctx;
};

/* libbpf's own messages: the last warning is kept for the user's one-line reason
 * (a verifier log would drown stderr of someone else's program). */
static char last_libbpf_message[256];

static int keep_libbpf_message(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN) {
		vsnprintf(last_libbpf_message, sizeof(last_libbpf_message), fmt, ap);
		last_libbpf_message[strcspn(last_libbpf_message, "\n")] = '\0';
	}
	return 0;
}

static void set_why(char *why, size_t size, const char *step, int err)
{
	if (err < 0)
		err = -err;
	if (err == EPERM || err == EACCES) {
		snprintf(why, size, "%s: not permitted (BPF sampling needs CAP_BPF and "
			 "CAP_PERFMON, or root; `filspy doctor` tells what this host allows)", step);
		return;
	}
	snprintf(why, size, "%s: %s%s%s%s", step, strerror(err),
		 last_libbpf_message[0] ? " (" : "", last_libbpf_message,
		 last_libbpf_message[0] ? ")" : "");
}

static void session_close(fsbpf_session *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	bpf_link__destroy(s->switch_link);
	for (int cpu = 0; s->links && cpu < s->ncpus; cpu++)
		bpf_link__destroy(s->links[cpu]);
	for (int cpu = 0; s->perf_fds && cpu < s->ncpus; cpu++)
		if (s->perf_fds[cpu] >= 0)
			close(s->perf_fds[cpu]);
	pystacks__destroy(s->skel);
	free(s->links);
	free(s->perf_fds);
	free(s);
}

static int open_cpu_clock(int cpu, int rate_hz)
{
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.sample_period = 1000000000ULL / (unsigned)rate_hz; /* the clock counts ns */
	attr.disabled = 1; /* libbpf enables it once the program is attached */
	int fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* One event per CPU: an offline CPU refuses with ENODEV and is left out. */
static int attach_all_cpus(fsbpf_session *s, int rate_hz, char *why, size_t why_size)
{
	int attached = 0;
	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		s->perf_fds[cpu] = -1;
		int fd = open_cpu_clock(cpu, rate_hz);
		if (fd == -ENODEV)
			continue;
		if (fd < 0) {
			set_why(why, why_size, "perf_event_open of a CPU clock", fd);
			return fd;
		}
		s->perf_fds[cpu] = fd;
		s->links[cpu] = bpf_program__attach_perf_event(s->skel->progs.sample_python, fd);
		if (!s->links[cpu]) {
			int err = -errno;
			s->links[cpu] = NULL;
			set_why(why, why_size, "attaching the program to a CPU clock", err);
			return err;
		}
		attached++;
	}
	if (!attached) {
		snprintf(why, why_size, "no online CPU accepted a CPU-clock event");
		return -ENODEV;
	}
	return 0;
}

static int on_record(void *ctx, void *data, size_t size)
{
	fsbpf_session *s = ctx;
	const struct fsbpf_sample *head = data;
	if (size < sizeof(*head))
		return 0;
	size_t frames = sizeof(*head) + (size_t)head->depth * sizeof(struct fsbpf_frame);
	if (size < frames)
		return 0;
	if (head->flags & FSBPF_NATIVE) {
		const struct fsbpf_native *nat = (const void *)((const char *)data + frames);
		if (size < frames + sizeof(*nat) || size < frames + sizeof(*nat) + nat->stack_len)
			return 0;
	}
	s->fn(s->fn_ctx, head, (const struct fsbpf_frame *)(head + 1));
	return 0;
}

static fsbpf_session *session_open(const struct fsbpf_plan *plan, int rate_hz, int off_cpu,
				   char *why, size_t why_size)
{
	last_libbpf_message[0] = '\0';
	libbpf_set_print(keep_libbpf_message);
	fsbpf_session *s = calloc(1, sizeof(*s));
	int err;
	if (!s) {
		snprintf(why, why_size, "out of memory");
		return NULL;
	}
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		set_why(why, why_size, "counting the CPUs", s->ncpus ? s->ncpus : -ENODEV);
		goto fail;
	}
	s->perf_fds = calloc((size_t)s->ncpus, sizeof(*s->perf_fds));
	s->links = calloc((size_t)s->ncpus, sizeof(*s->links));
	s->skel = pystacks__open();
	if (!s->perf_fds || !s->links || !s->skel) {
		set_why(why, why_size, "opening the BPF object", s->skel ? -ENOMEM : -errno);
		goto fail;
	}
	s->skel->rodata->plan = *plan;
	bpf_map__set_max_entries(s->skel->maps.scratch, (unsigned)s->ncpus);
	/* a native record carries its stack copy (16 KiB by default): 20 ms of them
	 * at 1 kHz on two busy CPUs take ~700 KiB; 4 MiB leave room for more CPUs
	 * and a slow drain. The kernel allocates every page when the map is made
	 * (16 MiB took ~1.5 ms of the start), the reader touches only those used. */
	if (plan->native_stack)
		bpf_map__set_max_entries(s->skel->maps.samples, 4u << 20);
	/* unloaded, the verifier never sees it: on-CPU profiles cost no tracepoint */
	bpf_program__set_autoload(s->skel->progs.switch_python, off_cpu != 0);
	err = pystacks__load(s->skel);
	if (err) {
		set_why(why, why_size, "loading the BPF program", err);
		goto fail;
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.samples), on_record, s, NULL);
	if (!s->rb) {
		set_why(why, why_size, "opening the ring buffer", -errno);
		goto fail;
	}
	if (attach_all_cpus(s, rate_hz, why, why_size) < 0)
		goto fail;
	if (off_cpu) {
		s->switch_link = bpf_program__attach(s->skel->progs.switch_python);
		if (!s->switch_link) {
			set_why(why, why_size, "attaching to the sched_switch tracepoint", -errno);
			goto fail;
		}
	}
	return s;
fail:
	session_close(s);
	return NULL;
}

static int session_set_thread(fsbpf_session *s, uint64_t tid, uint64_t tstate)
{
	int fd = bpf_map__fd(s->skel->maps.threads);
	int err = tstate ? bpf_map_update_elem(fd, &tid, &tstate, BPF_ANY)
			 : bpf_map_delete_elem(fd, &tid);
	return err < 0 ? -errno : 0;
}

static int session_set_period(fsbpf_session *s, uint64_t period_ns)
{
	for (int cpu = 0; cpu < s->ncpus; cpu++)
		if (s->perf_fds[cpu] >= 0 && ioctl(s->perf_fds[cpu], PERF_EVENT_IOC_PERIOD, &period_ns) < 0)
			return -errno;
	return 0;
}

static int session_drain(fsbpf_session *s, fsbpf_record_fn fn, void *ctx)
{
	s->fn = fn;
	s->fn_ctx = ctx;
	return ring_buffer__consume(s->rb);
}

/* libbpf's epoll descriptor, which holds the ring buffer: the program's forced
 * wake-ups make it readable, its other records do not (BPF_RB_NO_WAKEUP) */
static int session_wait_fd(fsbpf_session *s)
{
	return ring_buffer__epoll_fd(s->rb);
}

static void session_stats(fsbpf_session *s, uint64_t out[FSBPF_STAT_COUNT])
{
	int fd = bpf_map__fd(s->skel->maps.stats);
	uint64_t *per_cpu = calloc((size_t)s->ncpus, sizeof(*per_cpu));
	for (uint32_t k = 0; k < FSBPF_STAT_COUNT; k++) {
		out[k] = 0;
		if (per_cpu && bpf_map_lookup_elem(fd, &k, per_cpu) == 0)
			for (int cpu = 0; cpu < s->ncpus; cpu++)
				out[k] += per_cpu[cpu];
	}
	free(per_cpu);
}

static void session_drop_after_fork(fsbpf_session *s)
{
	if (!s)
		return;
	if (s->switch_link)
		close(bpf_link__fd(s->switch_link));
	for (int cpu = 0; cpu < s->ncpus; cpu++) {
		if (s->links[cpu])
			close(bpf_link__fd(s->links[cpu]));
		if (s->perf_fds[cpu] >= 0)
			close(s->perf_fds[cpu]);
	}
	if (s->rb)
		close(ring_buffer__epoll_fd(s->rb));
	struct bpf_map *map;
	bpf_object__for_each_map(map, s->skel->obj)
		close(bpf_map__fd(map));
	close(bpf_program__fd(s->skel->progs.sample_python));
	if (s->switch_link)
		close(bpf_program__fd(s->skel->progs.switch_python));
}

__attribute__((visibility("default"))) const fsbpf_interface_t fsbpf_interface = {
	.version = FSBPF_INTERFACE_VERSION,
	.open = session_open,
	.set_thread = session_set_thread,
	.set_period = session_set_period,
	.drain = session_drain,
	.wait_fd = session_wait_fd,
	.stats = session_stats,
	.close = session_close,
	.drop_after_fork = session_drop_after_fork,
};

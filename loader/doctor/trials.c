/* The trials of `filspy doctor`: what the kernel allows, asked for real (a BPF
 * program load, a perf event, ptrace both ways, process_vm_readv). */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "doctor_internal.h"
#include "filspy/spawn.h"

/* 0 when a trial's fd opened (it is closed again), else the errno. */
static int opened(int fd)
{
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* A trivial perf-event program (r0 = 0; exit): what the bpf backend would attach
 * to a CPU clock. Perf-event programs always need CAP_BPF and CAP_PERFMON. */
static int try_bpf(void)
{
	struct bpf_insn prog[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_PERF_EVENT;
	attr.insns = (uint64_t)(uintptr_t)prog;
	attr.insn_cnt = 2;
	attr.license = (uint64_t)(uintptr_t)"GPL";
	return opened((int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr)));
}

/* A CPU-clock sampling event on ourselves, user space only: kernel samples
 * would need kernel.perf_event_paranoid <= 1, and Python runs in user space. */
static int try_perf(void)
{
	struct perf_event_attr pe;
	memset(&pe, 0, sizeof(pe));
	pe.size = sizeof(pe);
	pe.type = PERF_TYPE_SOFTWARE;
	pe.config = PERF_COUNT_SW_CPU_CLOCK;
	pe.sample_period = 10 * 1000 * 1000; /* ns of CPU time: 100 Hz */
	pe.sample_type = PERF_SAMPLE_IP;
	pe.disabled = 1;
	pe.exclude_kernel = 1;
	pe.exclude_hv = 1;
	return opened((int)syscall(SYS_perf_event_open, &pe, 0, -1, -1, PERF_FLAG_FD_CLOEXEC));
}

/* fork(), with the child made to die with us: no trial leaves one behind. */
static pid_t fork_child(void)
{
	pid_t parent = getpid();
	fflush(NULL); /* or the child's exit flushes our buffers a second time */
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent)
		_exit(127);
	return 0;
}

/* We attach to a child of ours that waits on a pipe: the direction Yama's
 * restricted mode always allows, so a refusal is seccomp or a missing capability. */
static int try_trace_child(void)
{
	int gate[2];
	if (pipe2(gate, O_CLOEXEC) < 0)
		return errno;
	pid_t pid = fork_child();
	if (pid < 0) {
		int err = errno;
		close(gate[0]);
		close(gate[1]);
		return err;
	}
	if (pid == 0) {
		char byte;
		close(gate[1]);
		/* until the parent closes its end */
		while (read(gate[0], &byte, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(gate[0]);
	int err = ptrace(PTRACE_SEIZE, pid, NULL, NULL) == 0 ? 0 : errno;
	close(gate[1]);
	int status;
	if (spawn__wait(pid, DOCTOR_TIMEOUT_MS, &status) == 0) {
		kill(pid, SIGKILL);
		spawn__wait(pid, DOCTOR_TIMEOUT_MS, &status);
	}
	return err;
}

static int try_vm_readv(void)
{
	volatile int local = 0x5eed;
	int copy = 0;
	struct iovec l = { &copy, sizeof(copy) };
	struct iovec r = { (void *)&local, sizeof(local) };
	ssize_t n = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
	if (n < 0)
		return errno;
	return n == (ssize_t)sizeof(copy) && copy == local ? 0 : EIO;
}

void doctor_trials__run(struct trials *t)
{
	t->bpf = try_bpf();
	t->perf = try_perf();
	t->trace_child = try_trace_child();
	/* the pyspy backend's own trial: a child granted PR_SET_PTRACER seizes us */
	t->trace_parent = -spawn__can_trace_parent();
	t->vm_readv = try_vm_readv();
}

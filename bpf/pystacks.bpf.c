/* Perf-event program: on each CPU-clock tick that lands in the profiled process, it
 * finds the running thread's PyThreadState and copies its Python frames (code
 * object, instruction, a check word) to a ring buffer. The thread is stopped while
 * this runs, so its frame chain cannot change under the walk. A sched_switch
 * program, loaded on request, adds where and why each thread leaves its CPU. */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#include "filspy/pystacks.h"

/* bpf_probe_read_user is a GPL-only helper */
char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* set by the agent before loading; frozen, so the verifier sees constants */
const volatile struct fsbpf_plan plan = {};

/* Kernel tid of each Python thread -> its PyThreadState, kept by the agent. Keyed
 * by tid, so the program reads no kernel structure: no CO-RE relocation, and
 * libbpf has no reason to parse the kernel's 5 MB of BTF inside the profiled
 * process (that cost ~60 ms of CPU and 5 MB of memory at start when the key was
 * the thread pointer, task->thread.fsbase). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} threads SEC(".maps");

/* 1 MiB: the agent drains it every 100 ms when nothing calls it sooner (and when
 * it is a quarter full), and 100 ms of ordinary stacks at 5 kHz take ~250 KiB. Its
 * pages count twice in the program's RSS (libbpf maps the data twice, for records
 * that wrap): 2 MiB made the bpf backend's memory in bench/memory.py 11.2 MiB. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} samples SEC(".maps");

#include "wakeups.bpf.h"

/* A record is built here before it is copied out: too big for the BPF stack and
 * for a per-CPU map value, so one array slot per CPU (max_entries set at load to
 * the number of possible CPUs). */
struct scratch {
	struct fsbpf_sample head;
	struct fsbpf_frame frames[FSBPF_MAX_FRAMES];
	/* with FIL_PERF_SPY_NATIVE the native part follows the last frame written,
	 * so a record is one contiguous copy: this is its room after a full stack */
	__u8 native_room[sizeof(struct fsbpf_native) + FSBPF_STACK_MAX];
	__u8 frame[FSBPF_FRAME_READ];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FSBPF_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);
	if (v)
		*v += 1;
}

/* A field of the frame copy; offsets come from the plan, bounded for the verifier */
static __always_inline __u64 frame_u64(const struct scratch *sc, __s32 off)
{
	__u64 v = 0;
	if (off >= 0 && off <= FSBPF_FRAME_READ - 8)
		__builtin_memcpy(&v, &sc->frame[off], sizeof(v));
	return v;
}

static __always_inline __u32 frame_u32(const struct scratch *sc, __s32 off)
{
	__u32 v = 0;
	if (off >= 0 && off <= FSBPF_FRAME_READ - 4)
		__builtin_memcpy(&v, &sc->frame[off], sizeof(v));
	return v;
}

struct walk {
	struct scratch *sc;
	__u64 frame;
	__u64 must_reach;  /* see top_frame */
	__u32 n;
	__u16 flags;
};

static long walk_one(__u32 i, void *data)
{
	struct walk *w = data;
	struct scratch *sc = w->sc;
	__u32 size = plan.frame_size;

	if (!w->frame)
		return 1;
	if (w->n >= FSBPF_MAX_FRAMES) {
		w->flags |= FSBPF_TRUNCATED;
		return 1;
	}
	if (size > FSBPF_FRAME_READ)
		size = FSBPF_FRAME_READ;
	if (bpf_probe_read_user(sc->frame, size, (const void *)w->frame)) {
		w->flags |= FSBPF_READ_ERROR;
		return 1;
	}
	__u64 previous = frame_u64(sc, plan.frame_previous);
	__u64 code = frame_u64(sc, plan.frame_code) & plan.code_tag_mask;
	int shim = plan.frame_owner >= 0 &&
		   sc->frame[plan.frame_owner & (FSBPF_FRAME_READ - 1)] == (__u8)plan.frame_owner_cstack;

	/* the shim sits behind the frames its C call runs: the last one kept is the
	 * first that call ran */
	if (shim && w->n)
		sc->frames[(w->n - 1) & (FSBPF_MAX_FRAMES - 1)].code |= FSBPF_CODE_ENTRY;
	if (code && !shim) {
		struct fsbpf_frame *f = &sc->frames[w->n & (FSBPF_MAX_FRAMES - 1)];
		__u64 name = 0;
		f->code = code;
		if (plan.frame_is_entry >= 0 && sc->frame[plan.frame_is_entry & (FSBPF_FRAME_READ - 1)])
			f->code |= FSBPF_CODE_ENTRY;
		if (plan.instr_is_pointer)
			/* code units are 2 bytes; BPF has no signed division */
			f->instr = (__u32)((__s64)(frame_u64(sc, plan.frame_instr) -
						   (code + plan.code_code_adaptive)) >> 1);
		else
			f->instr = frame_u32(sc, plan.frame_instr);
		bpf_probe_read_user(&name, sizeof(name), (const void *)(code + plan.code_check));
		f->check = (__u32)name;
		w->n++;
	}
	if (w->frame == w->must_reach)
		w->must_reach = 0;
	if (previous == w->frame)
		return 1;
	w->frame = previous;
	return 0;
}

/* The innermost frame. 3.11/3.12 publish a new _PyCFrame a few instructions before
 * its current_frame is set, and the thread may be stopped in between: the real
 * chain then must pass through the frame of the caller's _PyCFrame, which is what
 * must_reach holds. */
static __always_inline void top_frame(__u64 tstate, struct walk *w)
{
	__u64 frame = 0, caller = 0;
	bpf_probe_read_user(&frame, sizeof(frame), (const void *)(tstate + plan.tstate_frame));
	if (!frame || plan.cframe_current_frame < 0) {
		w->frame = frame;
		return;
	}
	__u64 cframe = frame;
	frame = 0;
	bpf_probe_read_user(&frame, sizeof(frame), (const void *)(cframe + plan.cframe_current_frame));
	bpf_probe_read_user(&caller, sizeof(caller), (const void *)(cframe + plan.cframe_previous));
	if (caller)
		bpf_probe_read_user(&w->must_reach, sizeof(w->must_reach),
				    (const void *)(caller + plan.cframe_current_frame));
	w->frame = frame;
}

struct stack_copy {
	__u8 *to;
	__u64 from;
	__u32 done, want;
};

static long copy_chunk(__u32 i, void *data)
{
	struct stack_copy *c = data;
	__u32 done = c->done;
	if (done >= c->want || done > FSBPF_STACK_MAX - FSBPF_STACK_CHUNK)
		return 1;
	if (bpf_probe_read_user(c->to + done, FSBPF_STACK_CHUNK, (const void *)(c->from + done)))
		return 1;  /* past the end of the stack: what was read stays */
	c->done = done + FSBPF_STACK_CHUNK;
	return 0;
}

/* FIL_PERF_SPY_NATIVE: the thread's user registers and the top of its user stack
 * at p (room for struct fsbpf_native and plan.native_stack bytes). The registers
 * the kernel saved on entry are the user's whether the tick came in user or in
 * kernel mode. Returns the bytes written, 0 when there is no user context. */
static __always_inline __u32 copy_native(__u8 *p)
{
	struct fsbpf_native *nat = (struct fsbpf_native *)p;
	const void *regs = (const void *)bpf_task_pt_regs(bpf_get_current_task_btf());
	if (!regs || bpf_probe_read_kernel(nat->regs, sizeof(nat->regs), regs))
		return 0;
	if ((nat->regs[FSBPF_PT_CS] & 3) != 3)
		return 0;  /* not a user context */
	struct stack_copy c = { .to = p + sizeof(*nat), .from = nat->regs[FSBPF_PT_SP],
				.want = plan.native_stack };
	bpf_loop(FSBPF_STACK_MAX / FSBPF_STACK_CHUNK, copy_chunk, &c, 0);
	nat->stack_len = c.done;
	nat->pad = 0;
	return sizeof(*nat) + (c.done & (2 * FSBPF_STACK_MAX - 1));
}

/* Walks the Python frames of our thread tid (the current task) and writes a record
 * with flags and time. Returns 0 when a record was written. */
static __always_inline int emit_stack(__u32 tid, __u64 tstate, __u16 flags, __u64 time)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct scratch *sc = bpf_map_lookup_elem(&scratch, &cpu);
	if (!sc)
		return -1;

	struct walk w = { .sc = sc, .flags = flags };
	top_frame(tstate, &w);
	if (!w.frame) {
		count(FSBPF_STAT_NO_TSTATE);
		/* a stop of a thread that ends (or starts) this way would otherwise end
		 * when the agent next reads the thread list, up to 150 ms late: its
		 * wake-up has no record when it was mapped asleep (the tasks map) */
		if (flags & FSBPF_OFF_CPU) {
			struct fsbpf_sample r = { .tid = tid, .flags = FSBPF_NO_PYTHON,
						  .tstate = tstate, .time = time };
			bpf_ringbuf_output(&samples, &r, sizeof(r), wake_flags(&samples));
		}
		return -1;
	}
	bpf_loop(FSBPF_MAX_FRAMES + 1, walk_one, &w, 0);
	if (w.must_reach && !(w.flags & FSBPF_TRUNCATED)) {
		count(FSBPF_STAT_TORN);
		return -1;
	}
	if (!w.n)
		return -1;

	if (plan.gil_locked) {
		int locked = 0;
		__u64 holder = 0;
		bpf_probe_read_user(&locked, sizeof(locked), (const void *)plan.gil_locked);
		bpf_probe_read_user(&holder, sizeof(holder), (const void *)plan.gil_holder);
		if (locked && holder == tstate)
			w.flags |= FSBPF_GIL_HELD;
	}
	if (w.flags & FSBPF_READ_ERROR)
		count(FSBPF_STAT_UNREADABLE);
	sc->head.tid = tid;
	sc->head.flags = w.flags;
	sc->head.tstate = tstate;
	sc->head.time = time;
	__u32 n = w.n;
	if (n > FSBPF_MAX_FRAMES)
		n = FSBPF_MAX_FRAMES;
	sc->head.depth = (__u16)n;
	__u64 size = sizeof(sc->head) + (__u64)n * sizeof(struct fsbpf_frame);
	if (plan.native_stack) {
		__u32 extra = copy_native((__u8 *)sc->frames + n * sizeof(struct fsbpf_frame));
		if (extra) {
			sc->head.flags |= FSBPF_NATIVE;
			size += extra;
		}
	}
	if (size > sizeof(*sc) - FSBPF_FRAME_READ)
		return -1;
	if (bpf_ringbuf_output(&samples, &sc->head, size, wake_flags(&samples))) {
		count(FSBPF_STAT_LOST);
		return -1;
	}
	count(FSBPF_STAT_EMITTED);
	return 0;
}

SEC("perf_event")
int sample_python(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if ((__u32)(pid_tgid >> 32) != plan.tgid)
		return 0;
	count(FSBPF_STAT_EVENTS);

	__u64 tid = (__u32)pid_tgid;
	__u64 *tstate = bpf_map_lookup_elem(&threads, &tid);
	if (!tstate) {
		count(FSBPF_STAT_NO_TSTATE);
		nudge(&samples, tid);
		return 0;
	}
	emit_stack((__u32)tid, *tstate, 0, bpf_ktime_get_ns());
	return 0;
}

/* The raw sched_switch tracepoint's arguments (TP_PROTO in the kernel's
 * include/trace/events/sched.h; prev_state is the 4th since Linux 5.18). A raw
 * tracepoint is attached by name through bpf(BPF_RAW_TRACEPOINT_OPEN): no tracefs
 * mount, no kernel BTF in user space (a tp_btf program would make libbpf parse
 * vmlinux's BTF inside the profiled process). The verifier refuses a program that
 * reads past a tracepoint's last argument, so a kernel without prev_state refuses
 * to load it, and the agent says so. */
#define SWITCH_PREEMPT 0
#define SWITCH_PREV 1
#define SWITCH_NEXT 2
#define SWITCH_PREV_STATE 3

/* Our threads' task_struct pointers -> tid. The program reads no kernel structure
 * (no CO-RE), so next's pid is not at hand; but a thread must leave a CPU before it
 * can come back to one, and when it leaves it is the current task, whose tid we
 * have. Entries of exited threads age out (LRU); a reused pointer maps to a tid the
 * agent no longer lists, which the threads map refuses. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, __u64);
} tasks SEC(".maps");

#if defined(__TARGET_ARCH_x86)
/* struct pt_regs of x86-64 as saved at syscall entry (the ptrace ABI's layout) */
#define REGS_SYSCALL_NR (15 * 8)   /* orig_ax */
#define REGS_ARG1 (14 * 8)         /* di */
#define NR_FUTEX 202
#endif

/* Whether the current task is in futex() on a word inside the GIL struct:
 * pthread_cond_wait and a contended pthread_mutex_lock on the GIL sleep there, and
 * a thread handing the GIL over is often preempted right in its futex wake-up call
 * by the thread it wakes. (Preempted elsewhere, orig_ax is not a syscall number.) */
static __always_inline int waits_for_gil(void)
{
#ifdef NR_FUTEX
	if (!plan.gil_size)
		return 0;
	__u64 nr = 0, uaddr = 0;
	const void *regs = (const void *)bpf_task_pt_regs(bpf_get_current_task_btf());
	if (!regs)
		return 0;
	bpf_probe_read_kernel(&nr, sizeof(nr), regs + REGS_SYSCALL_NR);
	bpf_probe_read_kernel(&uaddr, sizeof(uaddr), regs + REGS_ARG1);
	return nr == NR_FUTEX && uaddr >= plan.gil_start && uaddr < plan.gil_start + plan.gil_size;
#else
	return 0;
#endif
}

/* Off-CPU time, loaded only when the agent asks for idle threads or the GIL view:
 * when one of our Python threads leaves a CPU (it is still the current task here)
 * its stack is written with why it left; when it gets a CPU again, a record
 * without frames. The agent weighs the stack by the time in between. */
SEC("raw_tp/sched_switch")
int switch_python(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 prev_task = ctx->args[SWITCH_PREV];
	__u64 next_task = ctx->args[SWITCH_NEXT];
	__u64 *tstate, *next;

	if ((__u32)(pid_tgid >> 32) == plan.tgid) {
		__u64 tid = (__u32)pid_tgid;
		tstate = bpf_map_lookup_elem(&threads, &tid);
		if (tstate) {
			__u16 flags = FSBPF_OFF_CPU;
			__u64 *known = bpf_map_lookup_elem(&tasks, &prev_task);
			if (!known || *known != tid)
				bpf_map_update_elem(&tasks, &prev_task, &tid, BPF_ANY);
			count(FSBPF_STAT_SWITCHES);
			/* asleep, as tracefs's prev_state tells it: a task preempted while it
			 * was setting up a sleep still counts as runnable */
			if (!ctx->args[SWITCH_PREEMPT] && (__u32)ctx->args[SWITCH_PREV_STATE])
				flags |= FSBPF_BLOCKED;
			if (waits_for_gil())
				flags |= FSBPF_GIL_WAIT;
			emit_stack((__u32)tid, *tstate, flags, now);
		}
	}
	next = bpf_map_lookup_elem(&tasks, &next_task);
	if (!next)
		return 0;
	__u64 next_tid = *next;
	tstate = bpf_map_lookup_elem(&threads, &next_tid);
	if (tstate) {
		struct fsbpf_sample *r = bpf_ringbuf_reserve(&samples, sizeof(*r), 0);
		if (!r) {
			count(FSBPF_STAT_LOST);
			return 0;
		}
		r->tid = (__u32)next_tid;
		r->flags = FSBPF_ON_CPU;
		r->depth = 0;
		r->tstate = *tstate;
		r->time = now;
		bpf_ringbuf_submit(r, wake_flags(&samples));
	}
	return 0;
}

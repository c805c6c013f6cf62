/* When a record of bpf/pystacks.bpf.c wakes the agent that drains the ring
 * buffer: included there once (it defines a map). */
#ifndef FILSPY_WAKEUPS_BPF_H
#define FILSPY_WAKEUPS_BPF_H

/* A record wakes the agent only when it must come now: the ring a quarter full
 * (deep stacks, native copies, many CPUs), or a thread it has not mapped
 * (nudge). Otherwise it drains on its own clock: on a virtual machine a wake-up
 * costs the sampler 20-30 us of CPU, more than a hundred records' handling. */
static __always_inline __u64 wake_flags(void *ring)
{
	__u64 avail = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA);
	__u64 size = bpf_ringbuf_query(ring, BPF_RB_RING_SIZE);
	return avail >= size / 4 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* Threads of ours that ran without a threads map entry -> when they last woke
 * the agent for it, and how long until they may again: a new Python thread is
 * mapped at its first tick, not at the agent's next drain; a thread that runs no
 * Python (the agent's own, a native pool) wakes it less and less often, every
 * NUDGE_GAP_MAX_NS in the end. */
#define NUDGE_GAP_NS 100000000ULL
#define NUDGE_GAP_MAX_NS 12800000000ULL
struct nudged {
	__u64 last, gap;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct nudged);
} unmapped SEC(".maps");

static __always_inline void nudge(void *ring, __u64 tid)
{
	__u64 now = bpf_ktime_get_ns();
	struct nudged *last = bpf_map_lookup_elem(&unmapped, &tid);
	struct nudged next = { now, NUDGE_GAP_NS };
	if (last) {
		if (now - last->last < last->gap)
			return;
		next.gap = last->gap < NUDGE_GAP_MAX_NS / 2 ? last->gap * 2 : NUDGE_GAP_MAX_NS;
	}
	bpf_map_update_elem(&unmapped, &tid, &next, BPF_ANY);
	struct fsbpf_sample r = { .tid = (__u32)tid, .flags = FSBPF_UNMAPPED, .time = now };
	bpf_ringbuf_output(ring, &r, sizeof(r), BPF_RB_FORCE_WAKEUP);
}

#endif

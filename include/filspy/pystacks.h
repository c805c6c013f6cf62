/* What the BPF program (bpf/pystacks.bpf.c) and the agent exchange: the walk plan
 * the agent computes from the version module, and the sample records the program
 * writes to its ring buffer. Included by BPF C and by user space, so plain fixed-size
 * types only. */
#ifndef FILSPY_BPF_SAMPLE_H
#define FILSPY_BPF_SAMPLE_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* How deep every walk reads: this program's, and the self backend's and `filspy
 * dump`'s in user space (STACKS_MAX_DEPTH, agent/sampling/stacks.h), so that a
 * stack is cut at the same depth whichever backend reads it. Deep enough for the
 * 1500-deep recursion test; a deeper stack is cut and marked. */
#define FS_STACK_MAX_DEPTH 4096
#define FSBPF_MAX_FRAMES FS_STACK_MAX_DEPTH
/* Bytes of one frame copied in one read: every field the walk needs lies in it
 * (PyFrameObject <= 3.10 is the largest, 133 bytes in 3.6). A power of two, so
 * that offsets masked with it satisfy the verifier. */
#define FSBPF_FRAME_READ 256

/* How to walk this interpreter's frames, from the version module's offsets. Every
 * offset is a byte offset; -1 means the version has no such field. */
struct fsbpf_plan {
	__u32 tgid;                /* samples of other processes are ignored */
	__s32 tstate_frame;        /* pointer in PyThreadState to follow first */
	__s32 cframe_current_frame;/* 3.11/3.12: then this pointer in _PyCFrame */
	__s32 cframe_previous;     /* 3.11/3.12: the C caller's _PyCFrame */
	__s32 frame_previous;
	__s32 frame_code;
	__s32 frame_instr;
	__s32 frame_owner;         /* >= 3.12: C-stack shim frames are skipped */
	__s32 frame_owner_cstack;
	__s32 frame_size;          /* <= FSBPF_FRAME_READ */
	__s32 code_check;          /* co_qualname (co_name before 3.11): its address's
				    * low 32 bits are the check */
	__s32 code_code_adaptive;  /* >= 3.11: instr pointer -> code-unit index */
	__u32 instr_is_pointer;    /* >= 3.11: frame_instr is a pointer, else an int */
	__u64 code_tag_mask;       /* 3.14: f_executable is a tagged reference */
	__u64 gil_locked;          /* address of the GIL's locked int, 0 when unknown */
	__u64 gil_holder;          /* address of its holder PyThreadState pointer */
	__u64 gil_start;           /* the GIL struct: a futex wait inside it is a wait */
	__u64 gil_size;            /* for the GIL (0 when unknown) */
	__u32 native_stack;        /* FIL_PERF_SPY_NATIVE: bytes of user stack to copy
				    * (a multiple of FSBPF_STACK_CHUNK), 0: none */
	__s32 frame_is_entry;      /* 3.11: bool is_entry of the frame a C call of the
				    * eval loop runs first, else -1 */
};

/* Native stacks: the user registers (struct pt_regs, the ptrace layout) and up to
 * FSBPF_STACK_MAX bytes of user stack from sp up, copied in chunks so that a copy
 * that runs off the stack's end keeps what it read. */
#define FSBPF_STACK_MAX   (64 << 10)
#define FSBPF_STACK_CHUNK 1024
#define FSBPF_PT_REGS     21       /* x86-64 struct pt_regs, in u64 */
#define FSBPF_PT_IP       16
#define FSBPF_PT_CS       17
#define FSBPF_PT_SP       19

/* After a record's frames when it has FSBPF_NATIVE: this, then stack_len bytes. */
struct fsbpf_native {
	__u64 regs[FSBPF_PT_REGS];
	__u32 stack_len;
	__u32 pad;
};

/* One Python frame, innermost first in a record. */
struct fsbpf_frame {
	__u64 code;                /* code object address | FSBPF_CODE_ENTRY */
	__u32 instr;               /* <= 3.10 f_lasti; else the code-unit index */
	__u32 check;               /* low 32 bits of co_name when sampled */
};

/* Set in fsbpf_frame.code (code objects are aligned) on the frame a C call of the
 * eval loop ran first, the outermost of those it runs (>= 3.11, from is_entry or
 * the C-stack shim behind it): the native merge gives each _PyEval_EvalFrameDefault
 * frame its run of Python frames. */
#define FSBPF_CODE_ENTRY 0x1ull

#define FSBPF_GIL_HELD   0x1u  /* this thread held the GIL at the sample */
#define FSBPF_TRUNCATED  0x2u  /* more frames than FSBPF_MAX_FRAMES */
#define FSBPF_READ_ERROR 0x4u  /* the walk stopped on an unreadable frame */
/* Off-CPU records (sched_switch, only when the agent asks for them): */
#define FSBPF_OFF_CPU    0x8u  /* the thread left its CPU at `time`; the frames are
				* where it stopped */
#define FSBPF_ON_CPU     0x10u /* the thread got a CPU again at `time` (no frames) */
#define FSBPF_BLOCKED    0x20u /* it left the CPU to sleep (else it was preempted) */
#define FSBPF_GIL_WAIT   0x40u /* it is in futex() on a word of the GIL struct: asleep
				* there, or preempted while handing the GIL over */
#define FSBPF_NATIVE     0x80u /* a struct fsbpf_native follows the frames */
/* No frames: a thread of ours ran without an entry in the threads map (a new
 * Python thread, or one that runs no Python); the agent reads the list again. */
#define FSBPF_UNMAPPED   0x100u
/* No frames: a thread of ours left its CPU at `time` with no Python frame (it
 * ends, or has not begun): the stop it was in ended before that. */
#define FSBPF_NO_PYTHON  0x200u

/* A record: this header, then depth struct fsbpf_frame (then, with FSBPF_NATIVE,
 * struct fsbpf_native and its stack bytes). */
struct fsbpf_sample {
	__u32 tid;
	__u16 flags;
	__u16 depth;               /* frames that follow */
	__u64 tstate;
	__u64 time;                /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
};

/* Counters the program keeps in its `stats` array map. */
enum fsbpf_stat {
	FSBPF_STAT_EVENTS,         /* perf events of our process */
	FSBPF_STAT_NO_TSTATE,      /* the thread runs no Python (or is not listed yet) */
	FSBPF_STAT_EMITTED,        /* records written */
	FSBPF_STAT_LOST,           /* ring buffer full */
	FSBPF_STAT_TORN,           /* caught between a _PyCFrame and its frame */
	FSBPF_STAT_UNREADABLE,     /* records whose walk stopped on an unreadable frame */
	FSBPF_STAT_SWITCHES,       /* our threads leaving a CPU (off-CPU records asked) */
	FSBPF_STAT_COUNT,
};

#endif

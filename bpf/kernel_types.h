/* The only kernel types the BPF program touches, declared by hand for CO-RE.
 *
 * Why not a vmlinux.h: the program reads one kernel field (the running thread's
 * fsbase), and preserve_access_index makes libbpf relocate that access against the
 * running kernel's BTF at load time, whatever the layout. A 3 MB header generated
 * from the build host's /sys/kernel/btf/vmlinux would pin the build to hosts with
 * BTF and bring nothing this program uses; the UAPI headers supply the rest. */
#ifndef FILSPY_BPF_KERNEL_TYPES_H
#define FILSPY_BPF_KERNEL_TYPES_H

/* x86-64: the thread pointer glibc's pthread_self() returns is the fs base */
struct thread_struct {
	unsigned long fsbase;
} __attribute__((preserve_access_index));

struct task_struct {
	struct thread_struct thread;
} __attribute__((preserve_access_index));

#endif

/* process_vm_readv on our own pid: a torn or freed pointer is EFAULT, never SIGSEGV. */
#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include "filspy/memread.h"

#define BATCH_IOV 512 /* well under IOV_MAX (1024) */

static pid_t self_pid;

void memread__init(void)
{
	self_pid = getpid();
}

int memread__read(void *dst, uintptr_t addr, size_t n)
{
	if (!addr)
		return -EFAULT;
	struct iovec local = { dst, n };
	struct iovec remote = { (void *)addr, n };
	ssize_t got = process_vm_readv(self_pid, &local, 1, &remote, 1, 0);
	if (got < 0)
		return -errno;
	return (size_t)got == n ? 0 : -EFAULT;
}

int memread__word(uintptr_t addr, uintptr_t *out)
{
	return memread__read(out, addr, sizeof(*out));
}

size_t memread__batch(const memread_req *reqs, size_t n)
{
	size_t done = 0;
	while (done < n) {
		struct iovec local[BATCH_IOV], remote[BATCH_IOV];
		size_t k = 0, want = 0;
		for (; k < BATCH_IOV && done + k < n; k++) {
			const memread_req *r = &reqs[done + k];
			if (!r->addr)
				break;
			local[k] = (struct iovec){ r->dst, r->len };
			remote[k] = (struct iovec){ (void *)r->addr, r->len };
			want += r->len;
		}
		if (!k)
			return done;
		ssize_t got = process_vm_readv(self_pid, local, k, remote, k, 0);
		if (got < 0)
			return done;
		if ((size_t)got == want) {
			done += k;
			continue;
		}
		/* partial: count the requests that fit whole in what was read */
		size_t left = (size_t)got;
		for (size_t i = 0; i < k && left >= reqs[done].len; i++) {
			left -= reqs[done].len;
			done++;
		}
		return done;
	}
	return done;
}

/* The agent's control socket: `filspy top`, `filspy dump` and scripts ask a
 * running profiled process for its profile or its current stacks without ptrace.
 * A Unix socket /tmp/filspy-<uid>/<pid>.sock (include/filspy/control_protocol.h),
 * directory 0700, socket 0600, peer uid checked; served by the sampler thread between samples. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "filspy/control_protocol.h"
#include "filspy/log.h"
#include "filspy/writers.h"
#include "control.h"
#include "outputs.h"

static void socket_path(pid_t pid, char *out, size_t size)
{
	control_protocol__path((unsigned)geteuid(), (long)pid, out, size);
}

/* The directory must be ours and private: another user must not plant a socket. */
static int private_dir(char *dir, size_t size)
{
	struct stat st;
	control_protocol__dir((unsigned)geteuid(), dir, size);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
		return -EPERM;
	return 0;
}

int control__open(fs_agent *a)
{
	a->control_fd = -1;
	char dir[64];
	int err = private_dir(dir, sizeof(dir));
	if (err) {
		fs_debug("no control socket: %s is not private to us (%s)", dir, strerror(-err));
		return err;
	}
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	socket_path(a->pid, addr.sun_path, sizeof(addr.sun_path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(addr.sun_path); /* a stale socket of a dead process with our pid */
	control_protocol__sweep((unsigned)geteuid()); /* and those of other dead ones */
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (r < 0 || listen(fd, 4) < 0) {
		err = -errno;
		close(fd);
		fs_debug("no control socket at %s: %s", addr.sun_path, strerror(-err));
		return err;
	}
	a->control_fd = fd;
	fs_debug("control socket at %s", addr.sun_path);
	return 0;
}

void control__close(fs_agent *a, bool remove)
{
	if (a->control_fd < 0)
		return;
	close(a->control_fd);
	a->control_fd = -1;
	if (remove) {
		char path[108];
		socket_path(a->pid, path, sizeof(path));
		unlink(path);
	}
}

static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == geteuid() || cred.uid == 0;
}

static void answer(fs_agent *a, int fd)
{
	struct timeval t = { 0, 200000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof(t));
	t.tv_sec = 2;
	t.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &t, sizeof(t));
	/* up to the newline: a client's command may come in more than one piece,
	 * and answering the first alone closes the socket under the rest (the
	 * client's send then fails with EPIPE). SO_RCVTIMEO bounds the wait. */
	char cmd[32] = "";
	size_t len = 0;
	while (len < sizeof(cmd) - 1 && !memchr(cmd, '\n', len)) {
		ssize_t n = read(fd, cmd + len, sizeof(cmd) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (!len)
		return;
	cmd[len] = 0;
	cmd[strcspn(cmd, "\r\n")] = 0;
	int out = dup(fd);
	FILE *f = out >= 0 ? fdopen(out, "w") : NULL;
	if (!f) {
		if (out >= 0)
			close(out);
		return;
	}
	if (!strcmp(cmd, CONTROL_SNAPSHOT)) {
		profile__finish_totals(a->profile);
		out_raw__write(a->profile, NULL, f);
	} else if (!strcmp(cmd, CONTROL_DUMP) || !strcmp(cmd, CONTROL_DUMP_LOCALS)) {
		a->dump_locals = !strcmp(cmd, CONTROL_DUMP_LOCALS);
		if (a->backend && a->backend->dump)
			a->backend->dump(a, f);
		else
			fprintf(f, "error: the %s backend cannot dump stacks\n",
				a->backend ? a->backend->name : "(none)");
	} else if (!strcmp(cmd, CONTROL_INFO)) {
		fprintf(f, "pid %d\nbackend %s\nrate %d\nsamples %llu\nlabel %s\ndir %s\n", a->pid,
			a->backend ? a->backend->name : "", a->settings.rate_hz,
			(unsigned long long)profile__samples(a->profile), a->label, a->output_dir);
		/* top's header: -1 where the backend cannot tell */
		fprintf(f, "threads %d\nactive_samples %llu\ngil_samples %lld\n", a->python_threads,
			(unsigned long long)a->active_samples,
			a->gil_known ? (long long)a->gil_samples : -1LL);
	} else if (!strcmp(cmd, CONTROL_FLUSH)) {
		outputs__write(a, true);
		fputs("ok\n", f);
	} else if (!strcmp(cmd, CONTROL_FINISH)) {
		/* `filspy attach` is done: write the files and leave the process as it was */
		a->stop_requested = true;
		a->detach_requested = true;
		fputs("ok\n", f);
	} else if (!strcmp(cmd, CONTROL_STOP)) {
		a->stop_requested = true;
		fputs("ok\n", f);
	} else {
		fprintf(f, "error: unknown command '%s' (snapshot, dump, dump-locals, info, flush, stop, finish)\n", cmd);
	}
	fclose(f);
}

void control__serve(fs_agent *a)
{
	if (a->control_fd < 0)
		return;
	/* an accept4 that finds nobody still makes and frees a socket: 3.7 us of CPU
	 * here, against 0.4 us for asking poll whether anyone waits */
	struct pollfd p = { a->control_fd, POLLIN, 0 };
	if (poll(&p, 1, 0) < 1)
		return;
	for (int i = 0; i < 4; i++) { /* a few per round: sampling comes first */
		int fd = accept4(a->control_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (peer_allowed(fd))
			answer(a, fd);
		close(fd);
	}
}

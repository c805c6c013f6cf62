/* Running a program for a check of `filspy doctor` (py-spy, each CPython): its
 * first line of output, and what went wrong, in words. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "doctor_internal.h"
#include "filspy/spawn.h"

int doctor_run__line(char *const argv[], char *out, size_t size)
{
	int status = 0;
	int rc = spawn__capture(argv, out, size, DOCTOR_TIMEOUT_MS, &status);
	out[strcspn(out, "\n")] = 0;
	return rc < 0 ? rc : status;
}

bool doctor_run__ok(int rc)
{
	return rc >= 0 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

const char *doctor_run__failure(int rc, char *buf, size_t size)
{
	if (rc == -ETIMEDOUT)
		snprintf(buf, size, "did not answer within %d s and was killed",
			 DOCTOR_TIMEOUT_MS / 1000);
	else if (rc < 0)
		snprintf(buf, size, "cannot be run: %s", strerror(-rc));
	else if (WIFEXITED(rc) && WEXITSTATUS(rc) == 127)
		snprintf(buf, size, "cannot be executed");
	else if (WIFEXITED(rc))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(rc));
	else
		snprintf(buf, size, "was killed by signal %d", WTERMSIG(rc));
	return buf;
}

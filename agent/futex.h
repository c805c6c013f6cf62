/* Waiting on a word (the session's state) and waking its waiters, with futex(2):
 * async-signal-safe, so exit paths and signal handlers may use it. */
#ifndef FILSPY_FUTEX_H
#define FILSPY_FUTEX_H

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline void futex__wake(volatile int *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

/* Returns after timeout_ns, a wake, or at once when *word != expected. */
static inline void futex__wait(volatile int *word, int expected, long timeout_ns)
{
	struct timespec ts = { timeout_ns / 1000000000L, timeout_ns % 1000000000L };
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, &ts, NULL, 0);
}

#endif

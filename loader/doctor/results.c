/* The checks `filspy doctor` found, in the order it reports them. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "doctor_internal.h"

#define MAX_CHECKS 16

static struct check checks[MAX_CHECKS];
static int n_checks;

struct check *doctor_results__add(const char *name, const char *status, const char *fmt, ...)
{
	static struct check spare; /* never printed: only if MAX_CHECKS is too small */
	struct check *c = n_checks < MAX_CHECKS ? &checks[n_checks++] : &spare;
	c->name = name;
	c->status = status;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	c->fix[0] = 0;
	return c;
}

void doctor_results__fix(struct check *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->fix, sizeof(c->fix), fmt, ap);
	va_end(ap);
}

void doctor_results__append(char *buf, size_t size, const char *fmt, ...)
{
	size_t at = strlen(buf);
	if (at + 1 >= size)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + at, size - at, fmt, ap);
	va_end(ap);
}

static const char *status_of(const char *name)
{
	for (int i = 0; i < n_checks; i++)
		if (!strcmp(checks[i].name, name))
			return checks[i].status;
	return "unknown";
}

bool doctor_results__is_ok(const char *name)
{
	return !strcmp(status_of(name), "ok");
}

const struct check *doctor_results__at(int i)
{
	return i >= 0 && i < n_checks ? &checks[i] : NULL;
}

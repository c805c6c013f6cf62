/* Python thread names: threading._active maps each thread's ident (pthread_self)
 * to its Thread, whose _name is the name. Read from memory like the stacks, into a
 * small table matched by ident and tid; the kernel's name stands in until then. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filspy/clock.h"
#include "filspy/memread.h"
#include "cpython/pyobjects.h"
#include "sampling/threadnames.h"
#include "sampling/procthreads.h"

#define MAX_NAMES 512
#define RETRY_NS 100000000LL

struct name {
	unsigned long ident;
	int tid;       /* 0 until a sampled thread with this ident claimed it */
	char text[64];
};

/* on the heap, not in .bss: processes that never profile never pay for it */
static struct name *names, *fresh;
static int n_names;
static int64_t last_read_ns = -RETRY_NS;


struct reading {
	const py_runtime *rt;
	struct name *out;
	int n;
};

static bool add_thread(uintptr_t key, uintptr_t thread, void *arg)
{
	struct reading *r = arg;
	uint64_t ident;
	if (pyobjects__ulong(r->rt, key, &ident) < 0)
		return true;
	uintptr_t name = pyobjects__attr(r->rt, thread, "_name");
	struct name *n = &r->out[r->n];
	if (!name || pystring__read(r->rt, name, n->text, sizeof(n->text)) <= 0)
		return true;
	n->ident = (unsigned long)ident;
	n->tid = 0;
	r->n++;
	return r->n < MAX_NAMES;
}

/* Reads sys.modules['threading']._active into names; keeps the tids of the idents
 * already claimed. */
static void read_active(const py_runtime *rt, uintptr_t interp)
{
	const py_offsets *o = rt->off;
	uintptr_t modules = 0, module, active;
	if (memread__word(interp + o->interp_modules, &modules) < 0 || !modules)
		return;
	module = pyobjects__dict_get(rt, modules, "threading");
	if (!module || memread__word(module + o->module_dict, &module) < 0)
		return;
	active = pyobjects__dict_get(rt, module, "_active");
	struct reading r = { rt, fresh, 0 };
	if (!active || pyobjects__dict_each(rt, active, MAX_NAMES, add_thread, &r) < 0)
		return;
	for (int i = 0; i < r.n; i++)
		for (int k = 0; k < n_names; k++)
			if (names[k].ident == fresh[i].ident && !strcmp(names[k].text, fresh[i].text))
				fresh[i].tid = names[k].tid;
	memcpy(names, fresh, (size_t)r.n * sizeof(*names));
	n_names = r.n;
}

static struct name *lookup(const py_thread *t)
{
	for (int i = 0; i < n_names; i++) {
		struct name *n = &names[i];
		if (n->ident != t->pthread_id || (n->tid && n->tid != t->tid))
			continue;
		n->tid = t->tid;
		return n;
	}
	return NULL;
}

const char *threadnames__get(const py_runtime *rt, const py_thread *t)
{
	if (!names && !(names = calloc(2 * MAX_NAMES, sizeof(*names))))
		return procthreads__name(t->tid);
	fresh = names + MAX_NAMES;
	struct name *n = lookup(t);
	if (!n && pyobjects__readable(rt)) {
		int64_t now = clock__now_ns();
		/* a thread runs a moment before threading registers it: retry, not often */
		if (now - last_read_ns >= RETRY_NS) {
			last_read_ns = now;
			read_active(rt, t->interp);
			n = lookup(t);
		}
	}
	return n ? n->text : procthreads__name(t->tid);
}

const char *threadnames__of(int tid)
{
	for (int i = 0; i < n_names; i++)
		if (names[i].tid == tid)
			return names[i].text;
	return procthreads__name(tid);
}

void threadnames__forget(void)
{
	n_names = 0;
	last_read_ns = -RETRY_NS;
}

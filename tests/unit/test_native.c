/* libfilspy-native.so through its dlopen interface: unwinding a stack copy, naming addresses, demangling. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "filspy/native_api.h"
#include "../helpers/stack_capture.h"

#ifndef NATIVE_LIB
#define NATIVE_LIB "build/libfilspy-native.so"
#endif

/* the library's demangler, linked into this test from unwind/demangle.c */
char *demangle__name(const char *name);

/* gcc would otherwise clone a function (level1.constprop.0) or merge it */
#if defined(__GNUC__) && !defined(__clang__)
#define CHAIN __attribute__((noinline, noipa))
#else
#define CHAIN __attribute__((noinline))
#endif

static const fsnative_interface_t *api;
static fsnative_session *session;
static struct stack_capture capture;
static uint64_t stack_top;

static void open_library(void)
{
	void *lib = dlopen(NATIVE_LIB, RTLD_NOW | RTLD_LOCAL);
	cr_assert(lib, "dlopen %s: %s", NATIVE_LIB, dlerror());
	api = dlsym(lib, FSNATIVE_INTERFACE_SYMBOL);
	cr_assert(api);
	cr_assert_eq(api->version, FSNATIVE_INTERFACE_VERSION);
	char why[256] = "";
	session = api->open(getpid(), why, sizeof(why));
	cr_assert(session, "open: %s", why);
}

static void close_library(void)
{
	api->close(session);
}

TestSuite(native, .init = open_library, .fini = close_library);

CHAIN int native_level3(int x)
{
	capture_stack(&capture, stack_top);
	return x + 3;
}

CHAIN int native_level2(int x)
{
	return native_level3(x * 2) + 2;
}

CHAIN int native_level1(int x)
{
	return native_level2(x + 1) + 1;
}

/* what the stack held at the capture, written over */
CHAIN static void scribble(void)
{
	volatile char junk[CAPTURE_MAX];
	memset((char *)junk, 0x5a, sizeof(junk));
}

Test(native, unwinds_a_stack_copy_after_the_stack_moved_on)
{
	int marker;
	stack_top = capture_stack_top((uint64_t)(uintptr_t)&marker);
	cr_assert(stack_top);
	cr_assert_eq(native_level1(1), (1 + 1) * 2 + 3 + 2 + 1);
	scribble();
	uint64_t pcs[64];
	int n = api->unwind(session, gettid(), capture.regs, capture.stack, capture.len, capture.sp,
			    pcs, 64);
	cr_assert_gt(n, 5, "only %d frames", n);
	const char *want[] = { "capture_stack", "native_level3", "native_level2", "native_level1" };
	for (int i = 0; i < 4; i++) {
		fsnative_symbol sym;
		api->symbolize(session, pcs[i], &sym);
		cr_assert(sym.name, "frame %d (%#lx) has no name", i, (unsigned long)pcs[i]);
		cr_assert_str_eq(sym.name, want[i], "frame %d: %s", i, sym.name);
		cr_assert_str_eq(sym.module, "test_native");
		cr_assert_leq(sym.start, pcs[i]);
	}
	int reached_main = 0;
	for (int i = 4; i < n; i++) {
		fsnative_symbol sym;
		api->symbolize(session, pcs[i], &sym);
		if (sym.name && (!strcmp(sym.name, "main") || !strcmp(sym.name, "__libc_start_call_main") ||
				 !strcmp(sym.name, "__libc_start_main")))
			reached_main = 1;
	}
	cr_assert(reached_main, "the walk stopped before main (%d frames)", n);
}

Test(native, names_a_libc_function)
{
	void *qsort_at = dlsym(RTLD_DEFAULT, "qsort");
	cr_assert(qsort_at);
	fsnative_symbol sym;
	cr_assert_eq(api->symbolize(session, (uint64_t)(uintptr_t)qsort_at + 4, &sym), 0);
	cr_assert_str_eq(sym.name, "qsort");
	cr_assert(sym.module && !strncmp(sym.module, "libc.so", 7), "module %s", sym.module);
	cr_assert_eq(sym.start, (uint64_t)(uintptr_t)qsort_at);
	cr_assert_gt(sym.offset, 0);
	/* a second answer comes from the cache, the same */
	fsnative_symbol again;
	api->symbolize(session, (uint64_t)(uintptr_t)qsort_at + 4, &again);
	cr_assert_eq(again.name, sym.name);
	cr_assert_eq(again.offset, sym.offset);
}

Test(native, an_address_in_no_mapping_is_unknown)
{
	/* anonymous memory (what a JIT's code lives in) is in no file's mapping; an
	 * unmapped page could be mapped again by the time the maps are re-read */
	long page = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(p != MAP_FAILED);
	uint64_t nowhere[] = { (uint64_t)(uintptr_t)p + 8, 0xdead000000000000ull, 16 };
	for (int i = 0; i < 3; i++) {
		fsnative_symbol sym = { .name = "x", .module = "y", .offset = 1, .start = 1 };
		cr_assert_eq(api->symbolize(session, nowhere[i], &sym), 0);
		cr_assert_null(sym.name, "%#lx", (unsigned long)nowhere[i]);
		cr_assert_null(sym.module, "%#lx", (unsigned long)nowhere[i]);
		cr_assert_eq(sym.start, 0);
	}
	fsnative_symbol sym;
	api->symbolize(session, 0, &sym);
	cr_assert_null(sym.module);
	/* an unwind of nothing, and of a pc with no stack at all */
	uint64_t regs[FSNATIVE_NREGS] = { 0 }, pcs[4];
	cr_assert_eq(api->unwind(session, gettid(), regs, NULL, 0, 0, pcs, 4), 0);
	regs[FSNATIVE_REG_IP] = (uint64_t)(uintptr_t)p;
	cr_assert_eq(api->unwind(session, gettid(), regs, NULL, 0, 0, pcs, 4), 1);
	cr_assert_eq(pcs[0], (uint64_t)(uintptr_t)p);
	munmap(p, page);
}

Test(native, demangles_cpp_and_rust)
{
	char *s = demangle__name("_ZNSt6vectorIiSaIiEE9push_backERKi");
	cr_assert(s && strstr(s, "std::vector<int, std::allocator<int> >::push_back"), "%s", s);
	free(s);
	s = demangle__name("_ZN4core3fmt5write17h0123456789abcdefE");
	cr_assert_str_eq(s, "core::fmt::write");
	free(s);
	s = demangle__name("_RNvCs1234_7mycrate3foo");
	cr_assert_str_eq(s, "mycrate::foo");
	free(s);
	cr_assert_null(demangle__name("qsort"));
	cr_assert_null(demangle__name("_start"));
}

/* a function of this binary under a legacy Rust name, named through the library */
void rust_named(void) __asm__("_ZN4core3fmt5write17h0123456789abcdefE");
CHAIN void rust_named(void)
{
	__asm__ volatile("");
}

Test(native, symbolize_demangles)
{
	fsnative_symbol sym;
	api->symbolize(session, (uint64_t)(uintptr_t)rust_named, &sym);
	cr_assert_str_eq(sym.name, "core::fmt::write");
	cr_assert_str_eq(sym.module, "test_native");
}

Test(native, finds_a_library_loaded_after_open)
{
	void *libm = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
	cr_assert(libm);
	void *f = dlsym(libm, "ldexpf");
	cr_assert(f);
	Dl_info info;
	cr_assert(dladdr(f, &info) && info.dli_sname);
	/* the re-read of the mappings waits 100 ms after the last one (open's) */
	struct timespec pause = { 0, 150 * 1000 * 1000 };
	nanosleep(&pause, NULL);
	fsnative_symbol sym;
	api->symbolize(session, (uint64_t)(uintptr_t)f, &sym);
	cr_assert_str_eq(sym.module, "libm.so.6");
	/* ldexpf, scalbnf and ldexpf32 are one function: any of its names will do */
	cr_assert(sym.name, "no name for %s", info.dli_sname);
	cr_assert_eq(sym.start, (uint64_t)(uintptr_t)info.dli_saddr);
	dlclose(libm);
}

/* dlopen of a library that sits next to the preload. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "sibling.h"

const void *sibling__open(const char *name, const char *symbol, void **handle, char *why,
			  size_t size)
{
	Dl_info self;
	char path[4096];
	*handle = NULL;
	if (!dladdr((void *)&sibling__open, &self) || !self.dli_fname) {
		snprintf(why, size, "cannot tell where libfilspy.so is");
		return NULL;
	}
	const char *slash = strrchr(self.dli_fname, '/');
	int dir = slash ? (int)(slash - self.dli_fname) : 1;
	snprintf(path, sizeof(path), "%.*s/%s", dir, slash ? self.dli_fname : ".", name);
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(why, size, "%s cannot be loaded: %s", name, dlerror());
		return NULL;
	}
	const void *sym = dlsym(lib, symbol);
	if (!sym) {
		snprintf(why, size, "%s is from another filspy build", name);
		dlclose(lib);
		return NULL;
	}
	*handle = lib;
	return sym;
}

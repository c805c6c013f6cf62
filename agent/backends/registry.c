/* Which fs_backend each choice of backends__order[] (core/backends.c) is. A new
 * backend: its file in this folder, a row here and a row there. */
#include <stddef.h>

#include "backends/backend.h"

extern const fs_backend backend_bpf;
extern const fs_backend backend_pyspy;
extern const fs_backend backend_self;

const fs_backend *registry__backend(enum fs_backend_choice choice)
{
	switch (choice) {
	case FS_BACKEND_BPF: return &backend_bpf;
	case FS_BACKEND_PYSPY: return &backend_pyspy;
	case FS_BACKEND_SELF: return &backend_self;
	case FS_BACKEND_AUTO: break;
	}
	return NULL;
}

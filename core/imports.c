/* Collapses the import machinery's frames into one `import NAME` frame per import. */
#include <stdio.h>
#include <string.h>

#include "filspy/hash.h"
#include "filspy/imports.h"

#define KEY_IMPORT_TAG 0x1a9b0000000000ffULL
#define NAME_MAX_LEN 200

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && !strcmp(s + n - t, tail) && (n == t || s[n - t - 1] == '/');
}

bool imports__is_machinery(const char *file)
{
	return !strcmp(file, "<frozen importlib._bootstrap>") ||
	       !strcmp(file, "<frozen importlib._bootstrap_external>") ||
	       ends_with(file, "importlib/_bootstrap.py") ||
	       ends_with(file, "importlib/_bootstrap_external.py");
}

bool imports__is_find_and_load(const char *name)
{
	return !strcmp(name, "_find_and_load");
}

/* A dotted module name: what import takes, nothing that could be memory read wrong */
static bool is_module_name(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		      (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '.' ||
		      (unsigned char)s[n] >= 0x80))
			return false;
	return n > 0 && n < NAME_MAX_LEN && s[0] != '.';
}

/* "certifi/core.py" -> "certifi.core", "pkg/__init__.py" -> "pkg", "<frozen site>"
 * -> "site": the short file
 * of the module's own code names it. False for what cannot be a module's file. */
static bool module_of_file(const char *file, char *out, size_t size)
{
	size_t n = strlen(file);
	if (!strncmp(file, "<frozen ", 8) && n > 9 && file[n - 1] == '>' && n - 9 < size) {
		memcpy(out, file + 8, n - 9);
		out[n - 9] = 0;
		return is_module_name(out);
	}
	if (n < 4 || n + 1 > size || strcmp(file + n - 3, ".py") || file[0] == '/')
		return false;
	memcpy(out, file, n - 3);
	out[n - 3] = 0;
	char *init = strstr(out, "/__init__");
	if (init && !init[9])
		*init = 0;
	for (char *c = out; *c; c++)
		if (*c == '/')
			*c = '.';
	return is_module_name(out);
}

static fs_frame_id import_frame(fs_profile *p, const char *module)
{
	char name[NAME_MAX_LEN + 16];
	snprintf(name, sizeof(name), "import %s", module);
	uint64_t key = hash__string(HASH_FNV_OFFSET, name) ^ KEY_IMPORT_TAG;
	return profile__intern_frame(p, key, 0, name, "", FS_ORIGIN_STDLIB);
}

size_t imports__collapse(fs_profile *p, fs_frame_id *ids, size_t n, const char *const *known)
{
	size_t out = 0;
	for (size_t i = 0; i < n;) {
		const fs_frame *fr = profile__frame(p, ids[i]);
		if (!fr || !imports__is_machinery(fr->file)) {
			ids[out++] = ids[i++];
			continue;
		}
		size_t end = i, loads = 0, last_load = 0;
		for (; end < n; end++) {
			const fs_frame *f = profile__frame(p, ids[end]);
			if (!f || !imports__is_machinery(f->file))
				break;
			if (imports__is_find_and_load(f->name)) {
				loads++;
				last_load = end;
			}
		}
		/* the module the run goes on to run, if the sample got that far */
		char derived[NAME_MAX_LEN];
		const fs_frame *next = end < n ? profile__frame(p, ids[end]) : NULL;
		bool have_derived = next && !strcmp(next->name, "<module>") &&
				    module_of_file(next->file, derived, sizeof(derived));
		size_t start = out;
		bool failed = false;
		for (size_t k = i; k < end && !failed; k++) {
			const fs_frame *f = profile__frame(p, ids[k]);
			if (loads && !imports__is_find_and_load(f->name))
				continue;
			const char *module = IMPORTS_UNKNOWN;
			if (loads && known && known[k] && is_module_name(known[k]))
				module = known[k];
			else if (have_derived && (!loads || k == last_load))
				module = derived;
			fs_frame_id id = import_frame(p, module);
			if (id == UINT32_MAX)
				failed = true;
			else
				ids[out++] = id;
			if (!loads)
				break;
		}
		if (failed) {
			out = start;
			for (size_t k = i; k < end; k++)
				ids[out++] = ids[k];
		}
		i = end;
	}
	return out;
}

/* Short file names and origins, as py-spy shows files. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "filspy/profile.h"
#include "filspy/shortpath.h"
#include "filspy/symcache.h"

static const char *shorten(const char *path, uint8_t *origin)
{
	static char out[512];
	shortpath__make(path, out, sizeof(out), origin);
	return out;
}

Test(shortpath, site_packages_and_stdlib)
{
	uint8_t o;
	cr_assert_str_eq(shorten("/usr/lib/python3/dist-packages/yaml/parser.py", &o), "yaml/parser.py");
	cr_assert_eq(o, FS_ORIGIN_PACKAGE);
	cr_assert_str_eq(shorten("/v/lib/python3.11/site-packages/jinja2/env.py", &o), "jinja2/env.py");
	cr_assert_eq(o, FS_ORIGIN_PACKAGE);
	cr_assert_str_eq(shorten("/root/.pyenv/versions/3.11.7/lib/python3.11/json/decoder.py", &o),
			 "json/decoder.py");
	cr_assert_eq(o, FS_ORIGIN_STDLIB);
	cr_assert_str_eq(shorten("<frozen importlib._bootstrap>", &o), "<frozen importlib._bootstrap>");
	cr_assert_eq(o, FS_ORIGIN_STDLIB);
}

Test(shortpath, own_code_below_its_top_package)
{
	char dir[] = "/tmp/shortpathXXXXXX";
	cr_assert(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/app", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/app/__init__.py", dir);
	fclose(fopen(path, "w"));
	snprintf(path, sizeof(path), "%s/app/sub", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/app/sub/__init__.py", dir);
	fclose(fopen(path, "w"));
	uint8_t o;
	snprintf(path, sizeof(path), "%s/app/sub/mod.py", dir);
	cr_assert_str_eq(shorten(path, &o), "app/sub/mod.py");
	cr_assert_eq(o, FS_ORIGIN_OWN);
	snprintf(path, sizeof(path), "%s/script.py", dir);
	cr_assert_str_eq(shorten(path, &o), "script.py");
	cr_assert_str_eq(shorten("relative.py", &o), "relative.py");
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* The report of `filspy doctor`: a table for people, or one JSON object. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "doctor_internal.h"

/* Length of the valid UTF-8 sequence at s, 0 when it is not one. */
static int utf8_len(const unsigned char *s)
{
	unsigned c = s[0], min;
	int n;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		n = 2, min = 0x80, c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, min = 0x800, c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, min = 0x10000, c &= 0x07;
	} else {
		return 0;
	}
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

/* A JSON string: quotes, backslashes and control characters escaped; bytes that
 * are not UTF-8 (a path may hold any) become U+FFFD, so the output always parses. */
static void put_json_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	putchar('"');
	while (*s) {
		int n = utf8_len(s);
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\t')
			fputs("\\t", stdout);
		else if (*s < 0x20 || *s == 0x7f)
			printf("\\u%04x", *s);
		else if (!n)
			fputs("\\ufffd", stdout);
		else
			fwrite(s, 1, (size_t)n, stdout);
		s += n ? n : 1;
	}
	putchar('"');
}

static void put_json_field(const char *key, const char *value, bool first)
{
	printf("%s\"%s\": ", first ? "" : ", ", key);
	put_json_string(value);
}

void doctor_print__json(const struct host *h, const char *backend, const char *why)
{
	const struct check *c;
	const struct python *py;
	printf("{\"checks\": [");
	for (int i = 0; (c = doctor_results__at(i)); i++) {
		printf("%s{", i ? ", " : "");
		put_json_field("name", c->name, true);
		put_json_field("status", c->status, false);
		put_json_field("detail", c->detail, false);
		put_json_field("fix", c->fix, false);
		putchar('}');
	}
	printf("], ");
	put_json_field("auto_backend", backend, true);
	put_json_field("auto_why", why, false);
	printf(", \"capabilities\": [");
	int n = 0;
	for (const struct doctor_cap *cap = doctor_host__caps; h->caps_known && cap->name; cap++)
		if (doctor_host__has_cap(h, cap->bit)) {
			printf("%s", n++ ? ", " : "");
			put_json_string(cap->name);
		}
	printf("], \"container\": %s", h->container ? "true" : "false");
	printf(", \"interpreters\": [");
	for (int i = 0; (py = doctor_pythons__at(i)); i++) {
		printf("%s{", i ? ", " : "");
		put_json_field("path", py->path, true);
		put_json_field("version", py->version, false);
		put_json_field("supported", py->supported, false);
		put_json_field("note", py->note, false);
		const char *shared = py->shared < 0 ? "null" : py->shared ? "true" : "false";
		printf(", \"shared\": %s}", shared);
	}
	printf("]}\n");
}

/* s with control characters (a newline in a path) as '?', for the table. */
static const char *printable(const char *s, char *buf, size_t size)
{
	size_t i = 0;
	for (; s[i] && i + 1 < size; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = 0;
	return buf;
}

static int widest_name(void)
{
	const struct check *c;
	int w = (int)strlen("CHECK");
	for (int i = 0; (c = doctor_results__at(i)); i++)
		if ((int)strlen(c->name) > w)
			w = (int)strlen(c->name);
	return w;
}

static void print_checks(void)
{
	const struct check *c;
	int w = widest_name();
	char buf[DOCTOR_TEXT];
	printf("  %-*s  %-7s  %s\n", w, "CHECK", "STATUS", "DETAIL");
	for (int i = 0; (c = doctor_results__at(i)); i++) {
		printf("  %-*s  %-7s  %s\n", w, c->name, c->status,
		       printable(c->detail, buf, sizeof(buf)));
		if (c->fix[0])
			printf("  %-*s  %-7s  fix: %s\n", w, "", "",
			       printable(c->fix, buf, sizeof(buf)));
	}
}

static const char *build_of(const struct python *py)
{
	return py->shared < 0 ? "unknown" : py->shared ? "shared" : "static";
}

static void print_pythons(void)
{
	const struct python *py;
	int w = (int)strlen("SUPPORTED");
	for (int i = 0; (py = doctor_pythons__at(i)); i++)
		if ((int)strlen(py->supported) > w)
			w = (int)strlen(py->supported);
	printf("CPython interpreters:\n");
	if (!doctor_pythons__at(0)) {
		printf("  none found on PATH, under pyenv or in /usr/bin\n");
		return;
	}
	char buf[PATH_MAX];
	printf("  %-8s  %-7s  %-*s  %s\n", "VERSION", "BUILD", w, "SUPPORTED", "PATH");
	for (int i = 0; (py = doctor_pythons__at(i)); i++)
		printf("  %-8s  %-7s  %-*s  %s%s%s%s\n", py->version, build_of(py), w,
		       py->supported, printable(py->path, buf, sizeof(buf)),
		       py->note[0] ? " (" : "", py->note, py->note[0] ? ")" : "");
}

void doctor_print__table(const char *backend, const char *why)
{
	printf("filspy doctor: what this host allows each backend, found by trying\n\n");
	print_checks();
	printf("\n");
	print_pythons();
	printf("\nauto backend here: %s (%s)\n", backend, why);
}

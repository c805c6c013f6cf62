/* The pprof writer: perftools.profiles.Profile (proto3) encoded by hand, gzipped.
 * Field numbers from profile.proto; location ids are frame ids + 1. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filspy/gzip.h"
#include "filspy/hash.h"
#include "filspy/writers.h"

typedef struct pb {
	uint8_t *data;
	size_t len, cap;
	bool oom;
} pb;

static void pb_put(pb *b, const void *src, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *d = realloc(b->data, cap);
		if (!d) {
			b->oom = true;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, src, n);
	b->len += n;
}

static void pb_varint(pb *b, uint64_t v)
{
	uint8_t buf[10];
	size_t n = 0;
	do {
		buf[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			buf[n] |= 0x80;
		n++;
	} while (v);
	pb_put(b, buf, n);
}

static void pb_uint(pb *b, unsigned field, uint64_t v)
{
	pb_varint(b, (uint64_t)field << 3);
	pb_varint(b, v);
}

static void pb_bytes(pb *b, unsigned field, const void *data, size_t n)
{
	pb_varint(b, (uint64_t)field << 3 | 2);
	pb_varint(b, n);
	pb_put(b, data, n);
}

/* Appends sub as a length-delimited field and empties it for reuse. */
static void pb_message(pb *b, unsigned field, pb *sub)
{
	pb_bytes(b, field, sub->data, sub->len);
	b->oom |= sub->oom;
	sub->len = 0;
}

/* The string table: each distinct string once, "" first. */
typedef struct strings {
	const char **items;
	size_t n, cap;
	uint32_t *slots; /* index + 1 */
	size_t mask;
	pb out;
} strings;

static int64_t str_index(strings *t, const char *s)
{
	size_t h = hash__string(HASH_FNV_OFFSET, s) & t->mask;
	for (uint32_t v; (v = t->slots[h]); h = (h + 1) & t->mask)
		if (!strcmp(t->items[v - 1], s))
			return v - 1;
	if (t->n == t->cap || (t->n + 1) * 2 > t->mask + 1)
		return -1; /* sized up front: cannot happen */
	t->items[t->n] = s;
	t->slots[h] = (uint32_t)++t->n;
	pb_bytes(&t->out, 6, s, strlen(s));
	return (int64_t)t->n - 1;
}

static bool is_thread_root(const fs_frame *fr)
{
	return fr->origin == FS_ORIGIN_SPECIAL && !strncmp(fr->name, "thread (", 8);
}

static void value_type(pb *b, unsigned field, strings *t, const char *type, const char *unit,
		       pb *scratch)
{
	pb_uint(scratch, 1, (uint64_t)str_index(t, type));
	pb_uint(scratch, 2, (uint64_t)str_index(t, unit));
	pb_message(b, field, scratch);
}

int out_pprof__write(fs_profile *p, const fs_profile_meta *meta, FILE *f)
{
	size_t n_frames = profile__frame_count(p), n_nodes = profile__node_count(p);
	size_t max_strings = 2 * n_frames + 16;
	size_t mask = 1;
	while (mask + 1 < max_strings * 2 + 2)
		mask = mask * 2 + 1;
	strings t = { calloc(max_strings, sizeof(char *)), 0, max_strings,
		      calloc(mask + 1, sizeof(uint32_t)), mask, { 0 } };
	size_t fn_mask = 1;
	while (fn_mask + 1 < n_frames * 2 + 2)
		fn_mask = fn_mask * 2 + 1;
	uint64_t *fn_keys = calloc(fn_mask + 1, sizeof(uint64_t));
	uint64_t *fn_ids = calloc(fn_mask + 1, sizeof(uint64_t));
	pb body = { 0 }, sub = { 0 }, sub2 = { 0 }, ids = { 0 };
	int err = 0;
	if (!t.items || !t.slots || !fn_keys || !fn_ids) {
		err = -ENOMEM;
		goto out;
	}
	int rate = meta && meta->rate_hz > 0 ? meta->rate_hz : 100;
	uint64_t period = 1000000000ULL / (uint64_t)rate;

	str_index(&t, "");
	value_type(&body, 1, &t, "samples", "count", &sub);
	value_type(&body, 1, &t, "cpu", "nanoseconds", &sub);
	int64_t thread_key = str_index(&t, "thread");
	int64_t pid_key = str_index(&t, "pid");

	/* one Function per distinct (name, file); one Location per frame */
	for (size_t i = 0; i < n_frames; i++) {
		const fs_frame *fr = profile__frame(p, (fs_frame_id)i);
		if (is_thread_root(fr))
			continue;
		uint64_t name = (uint64_t)str_index(&t, fr->name), file = (uint64_t)str_index(&t, fr->file);
		/* the lines of one function share its Function: look (name, file) up */
		uint64_t key = name << 32 | file, id = 0;
		size_t h = (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 20) & fn_mask;
		for (; fn_keys[h]; h = (h + 1) & fn_mask)
			if (fn_keys[h] == key + 1) {
				id = fn_ids[h];
				break;
			}
		if (!id) {
			id = i + 1;
			fn_keys[h] = key + 1;
			fn_ids[h] = id;
			pb_uint(&sub, 1, id);
			pb_uint(&sub, 2, name);
			pb_uint(&sub, 3, name);
			pb_uint(&sub, 4, file);
			pb_message(&body, 5, &sub);
		}
		pb_uint(&sub2, 1, id);
		pb_uint(&sub2, 2, (uint64_t)(fr->line > 0 ? fr->line : 0));
		pb_uint(&sub, 1, i + 1);
		pb_message(&sub, 4, &sub2);
		pb_message(&body, 4, &sub);
	}

	for (size_t i = 1; i < n_nodes; i++) {
		const fs_node *node = profile__node(p, (fs_node_id)i);
		if (!node->self)
			continue;
		const char *thread = NULL;
		for (fs_node_id at = (fs_node_id)i; at != FS_ROOT_NODE; at = profile__node(p, at)->parent) {
			const fs_frame *fr = profile__frame(p, profile__node(p, at)->frame);
			if (is_thread_root(fr))
				thread = fr->name;
			else
				pb_varint(&ids, profile__node(p, at)->frame + 1); /* leaf first */
		}
		if (!ids.len)
			continue;
		pb_message(&sub, 1, &ids);
		pb_varint(&ids, node->self);
		pb_varint(&ids, node->self * period);
		pb_message(&sub, 2, &ids);
		if (thread) {
			pb_uint(&sub2, 1, (uint64_t)thread_key);
			pb_uint(&sub2, 2, (uint64_t)str_index(&t, thread));
			pb_message(&sub, 3, &sub2);
		}
		if (meta && meta->pid > 0) {
			pb_uint(&sub2, 1, (uint64_t)pid_key);
			pb_uint(&sub2, 3, (uint64_t)meta->pid);
			pb_message(&sub, 3, &sub2);
		}
		pb_message(&body, 2, &sub);
	}
	pb_uint(&body, 9, (uint64_t)time(NULL) * 1000000000ULL);
	if (meta && meta->duration_s > 0)
		pb_uint(&body, 10, (uint64_t)(meta->duration_s * 1e9));
	value_type(&body, 11, &t, "cpu", "nanoseconds", &sub);
	pb_uint(&body, 12, period);
	char losses[96], comment[128];
	if (*writers__losses(meta, losses, sizeof(losses))) {
		snprintf(comment, sizeof(comment), "filspy: %s", losses);
		pb_uint(&body, 13, (uint64_t)str_index(&t, comment));
	}
	pb_uint(&body, 14, (uint64_t)str_index(&t, "cpu"));
	/* the strings were collected in order as they were met: append them last */
	pb_put(&body, t.out.data, t.out.len);
	if (body.oom || t.out.oom || sub.oom || sub2.oom || ids.oom) {
		err = -ENOMEM;
		goto out;
	}
	err = gzip__write(body.data, body.len, f);
	fflush(f);
	if (!err && ferror(f))
		err = -EIO;
out:
	free(t.items);
	free(t.slots);
	free(t.out.data);
	free(fn_keys);
	free(fn_ids);
	free(body.data);
	free(sub.data);
	free(sub2.data);
	free(ids.data);
	return err;
}

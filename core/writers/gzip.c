/* gzip members for the pprof writer: zlib through dlopen (the preload must stay
 * libc-only), stored blocks as the fallback. */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "filspy/gzip.h"

typedef int (*deflate_init2_fn)(z_streamp, int, int, int, int, int, const char *, int);
typedef int (*deflate_fn)(z_streamp, int);
typedef int (*deflate_end_fn)(z_streamp);

uint32_t gzip__crc32(const uint8_t *data, size_t len)
{
	static uint32_t table[256];
	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
}

static void put_le32(FILE *f, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		fputc((int)((v >> (8 * i)) & 0xff), f);
}

/* RFC 1952 member whose deflate stream is only stored blocks (RFC 1951 3.2.4). */
static int write_stored(const uint8_t *data, size_t len, FILE *f)
{
	static const uint8_t header[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
	fwrite(header, 1, sizeof(header), f);
	size_t at = 0;
	do {
		size_t n = len - at > 65535 ? 65535 : len - at;
		fputc(at + n == len ? 1 : 0, f); /* BFINAL on the last block, BTYPE 00 */
		fputc((int)(n & 0xff), f);
		fputc((int)(n >> 8), f);
		fputc((int)(~n & 0xff), f);
		fputc((int)((~n >> 8) & 0xff), f);
		fwrite(data + at, 1, n, f);
		at += n;
	} while (at < len);
	put_le32(f, gzip__crc32(data, len));
	put_le32(f, (uint32_t)len);
	return ferror(f) ? -EIO : 0;
}

int gzip__write(const uint8_t *data, size_t len, FILE *f)
{
	void *z = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
	deflate_init2_fn init = z ? (deflate_init2_fn)dlsym(z, "deflateInit2_") : NULL;
	deflate_fn deflate_ = z ? (deflate_fn)dlsym(z, "deflate") : NULL;
	deflate_end_fn end = z ? (deflate_end_fn)dlsym(z, "deflateEnd") : NULL;
	if (!init || !deflate_ || !end) {
		if (z)
			dlclose(z);
		return write_stored(data, len, f);
	}
	z_stream s;
	memset(&s, 0, sizeof(s));
	/* windowBits 15 + 16: a gzip header and trailer around the deflate stream */
	if (init(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
		 ZLIB_VERSION, (int)sizeof(s)) != Z_OK) {
		dlclose(z);
		return write_stored(data, len, f);
	}
	unsigned char out[65536];
	int err = 0, r;
	s.next_in = (Bytef *)data;
	s.avail_in = (uInt)len; /* profiles stay far below 4 GiB */
	do {
		s.next_out = out;
		s.avail_out = sizeof(out);
		r = deflate_(&s, Z_FINISH);
		if (r == Z_STREAM_ERROR) {
			err = -EIO;
			break;
		}
		fwrite(out, 1, sizeof(out) - s.avail_out, f);
	} while (r != Z_STREAM_END);
	end(&s);
	dlclose(z);
	return err ? err : ferror(f) ? -EIO : 0;
}

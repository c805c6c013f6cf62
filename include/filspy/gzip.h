/* gzip output without linking zlib into the preload. */
#ifndef FILSPY_GZIP_H
#define FILSPY_GZIP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes data as one gzip member to f: compressed by libz.so.1, loaded with
 * dlopen when first needed, or stored uncompressed (still valid gzip) when libz
 * cannot be loaded. Returns 0, or -errno. */
int gzip__write(const uint8_t *data, size_t len, FILE *f);

/* The gzip (IEEE) CRC-32 of data. */
uint32_t gzip__crc32(const uint8_t *data, size_t len);

#endif

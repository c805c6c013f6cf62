/* Did-you-mean: the nearest name by edit distance, for unknown commands and
 * options. */
#include <string.h>

#include "suggest.h"

#define MAXLEN 64

int suggest__distance(const char *a, const char *b)
{
	size_t n = strnlen(a, MAXLEN), m = strnlen(b, MAXLEN);
	int d[MAXLEN + 1][MAXLEN + 1];
	for (size_t i = 0; i <= n; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			int cost = a[i - 1] != b[j - 1];
			int best = d[i - 1][j - 1] + cost;
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[n][m];
}

void suggest__consider(const char *word, const char *name, const char **best, int *best_d)
{
	size_t len = strlen(word);
	int d = suggest__distance(word, name);
	/* "--dur" meant "--duration": a prefix counts as close */
	if (len >= 2 && !strncmp(word, name, len))
		d = 1;
	int limit = (int)(strlen(name) / 3);
	if (limit < 2)
		limit = 2;
	if (d <= limit && d < *best_d) {
		*best = name;
		*best_d = d;
	}
}

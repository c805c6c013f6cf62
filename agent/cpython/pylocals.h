/* A frame's local variables for `filspy dump --locals` (agent/cpython/pylocals.c). */
#ifndef FILSPY_PYLOCALS_H
#define FILSPY_PYLOCALS_H

#include <stdbool.h>
#include <stdio.h>

#include "filspy/pystack.h"

#define PYLOCALS_MAX 64     /* locals shown per frame */
#define PYLOCALS_REPR 96    /* bytes of one value's repr */

/* Whether this version's offsets say where locals and their names are. */
bool pylocals__readable(const py_runtime *rt);

/* Writes frame fr's arguments and locals as py-spy's `dump --locals` shows them:
 * an "Arguments:" and a "Locals:" section of "name: repr" lines. The repr is
 * Python's for None, bool, int, float, str and bytes, cut at PYLOCALS_REPR, and
 * "<TYPE at 0xADDR>" for anything else. Reads memory only, never calls into the
 * program; writes nothing when fr has no frame address or nothing readable. */
void pylocals__print(const py_runtime *rt, const py_frame_ref *fr, FILE *f);

#endif

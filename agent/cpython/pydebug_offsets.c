/* Offsets from the interpreter itself: CPython 3.13 and later start _PyRuntime with
 * _Py_DebugOffsets, so a version newer than our table can still be read. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "filspy/memread.h"
#include "filspy/pyoffsets.h"

/* Positions (in uint64 words) in _Py_DebugOffsets as 3.13 lays it out; 3.14 keeps
 * the prefix of every section we read. Each section starts with its size. */
enum {
	W_VERSION = 1,
	W_FREE_THREADED = 2,
	W_RUNTIME = 3,       /* size, finalizing, interpreters_head */
	W_INTERP = 6,        /* size, id, next, threads_head, gc, imports_modules, sysdict,
			      * builtins, ceval_gil, gil_runtime_state, gil_enabled,
			      * gil_locked, gil_holder */
	W_TSTATE = 19,       /* size, prev, next, interp, current_frame, thread_id,
			      * native_thread_id, datastack_chunk, status */
	W_FRAME = 28,        /* size, previous, executable, instr_ptr, localsplus, owner */
	W_CODE = 34,         /* size, filename, name, qualname, linetable, firstlineno,
			      * argcount, localsplusnames, localspluskinds, co_code_adaptive */
	W_OBJECT = 44,       /* size, ob_type */
	W_TYPE = 46,         /* size, tp_name, tp_repr, tp_flags */
	W_TUPLE = 50,
	W_LIST = 53,
	W_DICT = 56,
	W_FLOAT = 59,
	W_LONG = 61,
	W_BYTES = 64,        /* size, ob_size, ob_sval */
	W_UNICODE = 67,      /* size, state, length, asciiobject_size */
	W_WORDS = 71,
};

static int fits(uint64_t v, uint64_t limit)
{
	return v < limit && v <= INT32_MAX;
}

int pydebug_offsets__read(uintptr_t runtime, int minor, const py_offsets *table,
			  py_offsets *out, const char **why)
{
	uint64_t w[W_WORDS];
	if (memread__read(w, runtime, sizeof(w)) < 0) {
		*why = "_PyRuntime cannot be read";
		return -EFAULT;
	}
	if (memcmp(w, "xdebugpy", 8)) {
		*why = "_PyRuntime carries no _Py_DebugOffsets cookie";
		return -ENOENT;
	}
	if (((w[W_VERSION] >> 24) & 0xff) != 3 || (int)((w[W_VERSION] >> 16) & 0xff) != minor) {
		*why = "_Py_DebugOffsets names another version than Py_Version";
		return -EINVAL;
	}
	if (w[W_FREE_THREADED]) {
		*why = "free-threaded builds are not supported yet";
		return -ENOTSUP;
	}
	/* every offset must fall inside its struct, and the structs must have sane sizes */
	uint64_t rt = w[W_RUNTIME], is = w[W_INTERP], ts = w[W_TSTATE], fr = w[W_FRAME];
	uint64_t co = w[W_CODE], by = w[W_BYTES], un = w[W_UNICODE];
	if (!(fits(w[W_RUNTIME + 1], rt) && fits(w[W_RUNTIME + 2], rt) && rt < (1 << 26) &&
	      fits(w[W_INTERP + 3], is) && fits(w[W_INTERP + 12], is) &&
	      fits(w[W_TSTATE + 6], ts) && ts <= 1024 &&
	      fits(w[W_FRAME + 5], fr) && fr <= 256 && fits(w[W_CODE + 9], co + 1) &&
	      co <= 512 && w[W_OBJECT] == 16 && w[W_OBJECT + 1] == 8 && by <= 64 &&
	      (w[W_UNICODE + 3] == 40 || w[W_UNICODE + 3] == 48) && un <= 128)) {
		*why = "_Py_DebugOffsets are laid out differently than this build knows";
		return -EINVAL;
	}

	py_offsets o;
	memset(&o, 0xff, sizeof(o)); /* every int16 field: PY_NO_OFFSET */
	o.major = 3;
	o.minor = minor;
	o.runtime_initialized = table ? table->runtime_initialized : PY_NO_OFFSET;
	o.runtime_finalizing = (int32_t)w[W_RUNTIME + 1];
	o.runtime_interpreters_head = (int32_t)w[W_RUNTIME + 2];
	o.interp_next = (int32_t)w[W_INTERP + 2];
	o.interp_threads_head = (int32_t)w[W_INTERP + 3];
	o.interp_gil_locked = (int32_t)w[W_INTERP + 11];
	o.interp_gil_holder = (int32_t)w[W_INTERP + 12];
	/* the GIL this interpreter uses (its own, or the main one's when shared); the
	 * debug offsets have no size for it, the struct has kept 208 bytes since 3.7 */
	if (fits(w[W_INTERP + 8], is))
		o.interp_gil = (int32_t)w[W_INTERP + 8];
	o.gil_size = table && table->gil_size > 0 ? table->gil_size : 208;
	o.tstate_next = (int32_t)w[W_TSTATE + 2];
	o.tstate_interp = (int32_t)w[W_TSTATE + 3];
	o.tstate_current_frame = (int32_t)w[W_TSTATE + 4];
	o.tstate_thread_id = (int32_t)w[W_TSTATE + 5];
	o.tstate_native_thread_id = (int32_t)w[W_TSTATE + 6];
	o.tstate_size = (int32_t)ts;
	o.frame_previous = (int32_t)w[W_FRAME + 1];
	o.frame_code = (int32_t)w[W_FRAME + 2];
	o.frame_instr = (int32_t)w[W_FRAME + 3];
	o.frame_owner = (int32_t)w[W_FRAME + 5];
	/* FRAME_OWNED_BY_CSTACK: 3 in 3.12-3.13; 3.14 put FRAME_OWNED_BY_INTERPRETER first */
	o.frame_owner_cstack = minor >= 14 ? 4 : 3;
	o.frame_is_entry = PY_NO_OFFSET;  /* 3.12+: the shim marks an entry */
	o.frame_size = (int32_t)w[W_FRAME + 4];
	o.frame_localsplus = (int32_t)w[W_FRAME + 4]; /* interpreter_frame.localsplus */
	o.code_filename = (int32_t)w[W_CODE + 1];
	o.code_name = (int32_t)w[W_CODE + 2];
	o.code_qualname = (int32_t)w[W_CODE + 3];
	o.code_linetable = (int32_t)w[W_CODE + 4];
	o.code_firstlineno = (int32_t)w[W_CODE + 5];
	o.code_argcount = (int32_t)w[W_CODE + 6];
	o.code_code_adaptive = (int32_t)w[W_CODE + 9];
	o.code_code = PY_NO_OFFSET;
	o.code_size = (int32_t)w[W_CODE + 9];
	o.object_type = (int32_t)w[W_OBJECT + 1];
	o.bytes_size = (int32_t)w[W_BYTES + 1];
	o.bytes_sval = (int32_t)w[W_BYTES + 2];
	o.unicode_state = (int32_t)w[W_UNICODE + 1];
	o.unicode_length = (int32_t)w[W_UNICODE + 2];
	o.unicode_ascii_size = (int32_t)w[W_UNICODE + 3];
	/* PyCompactUnicodeObject adds utf8_length and utf8 to PyASCIIObject */
	o.unicode_compact_size = (int32_t)(w[W_UNICODE + 3] + 16);
	/* the state bitfield since 3.12: interned:2, kind:3, compact:1, ascii:1 */
	o.unicode_kind_mask = 0x1c;
	o.unicode_compact_mask = 0x20;
	o.unicode_ascii_mask = 0x40;
	o.frame_executing = PY_NO_OFFSET;
	o.frame_executing_value = PY_NO_OFFSET;
	/* thread names need more than the debug offsets say: only with the table's */
	if (table) {
		o.interp_modules = table->interp_modules;
		o.module_dict = table->module_dict;
		o.type_flags = table->type_flags;
		o.type_basicsize = table->type_basicsize;
		o.type_dictoffset = table->type_dictoffset;
		o.heaptype_cached_keys = table->heaptype_cached_keys;
		o.dict_keys = table->dict_keys;
		o.dict_values = table->dict_values;
		o.dictkeys_size = table->dictkeys_size;
		o.dictkeys_log2_size = table->dictkeys_log2_size;
		o.dictkeys_log2_index_bytes = table->dictkeys_log2_index_bytes;
		o.dictkeys_kind = table->dictkeys_kind;
		o.dictkeys_nentries = table->dictkeys_nentries;
		o.dictkeys_indices = table->dictkeys_indices;
		o.dictvalues_valid = table->dictvalues_valid;
		o.dictvalues_values = table->dictvalues_values;
		o.type_flag_inline_values = table->type_flag_inline_values;
		o.type_flag_managed_dict = table->type_flag_managed_dict;
		o.object_managed_dict = table->object_managed_dict;
		o.long_size = table->long_size;
		o.long_size_shift = table->long_size_shift;
		o.long_digits = table->long_digits;
		o.long_digit_bits = table->long_digit_bits;
		/* dump --locals: the table's too */
		o.frame_localsplus = table->frame_localsplus;
		o.code_nlocals = table->code_nlocals;
		o.code_varnames = table->code_varnames;
		o.code_localspluskinds = table->code_localspluskinds;
		o.tuple_size = table->tuple_size;
		o.tuple_items = table->tuple_items;
		o.type_name = table->type_name;
		o.float_value = table->float_value;
	}
	*out = o;
	*why = NULL;
	return 0;
}

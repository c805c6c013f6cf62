/* Prints one CPython version's struct offsets as a C initializer for
 * agent/cpython/pyoffsets_table.c. Compiled by scripts/gen-pyoffsets.sh against the
 * headers (internal ones included) of each installed interpreter. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <frameobject.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#if PY_VERSION_HEX >= 0x03090000
#include <internal/pycore_runtime.h>
#include <internal/pycore_interp.h>
#elif PY_VERSION_HEX >= 0x03080000
#include <internal/pycore_pystate.h>
#elif PY_VERSION_HEX >= 0x03070000
#include <internal/pystate.h>
#endif
#if PY_VERSION_HEX >= 0x030B0000
#include <internal/pycore_frame.h>
#endif
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
#include <internal/pycore_gil.h>
#endif
#if PY_VERSION_HEX >= 0x030B0000
#include <internal/pycore_dict.h>
#include <internal/pycore_moduleobject.h>
#include <internal/pycore_object.h>
#else
#include <longintrepr.h>
#endif

#define F(name, value) printf("\t\t.%s = %ld,\n", #name, (long)(value))
#define NONE(name) printf("\t\t.%s = -1,\n", #name)
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define END(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))
#define SIZEOF(type, member) sizeof(((type *)0)->member)

/* Bit masks of the PyASCIIObject state bitfield, found by setting each field. */
static unsigned state_mask(int which)
{
	PyASCIIObject o;
	unsigned word;
	memset(&o, 0, sizeof(o));
	if (which == 0)
		o.state.kind = 7;
	else if (which == 1)
		o.state.compact = 1;
	else
		o.state.ascii = 1;
	memcpy(&word, &o.state, sizeof(word));
	return word;
}

int main(void)
{
	printf("\t{\n");
	/* first, one per line: the rows are the tested versions, which
	 * agent/cpython/versions.c and tests/system/test_versions.py read from them */
	F(major, PY_MAJOR_VERSION);
	F(minor, PY_MINOR_VERSION);

#if PY_VERSION_HEX < 0x03070000
	/* 3.6 has no _PyRuntime: the interpreter list is reached through
	 * PyInterpreterState_Head() and the flags through Py_IsInitialized() */
	NONE(runtime_initialized);
	NONE(runtime_finalizing);
	NONE(runtime_interpreters_head);
	NONE(runtime_gil_locked);
	NONE(runtime_gil_holder);
	NONE(interp_gil);
	NONE(gil_locked);
	NONE(gil_holder);
	NONE(runtime_gil);
	NONE(gil_size);
#else
	F(runtime_initialized, offsetof(_PyRuntimeState, initialized));
#if PY_VERSION_HEX >= 0x03090000
	F(runtime_finalizing, offsetof(_PyRuntimeState, _finalizing));
#else
	F(runtime_finalizing, offsetof(_PyRuntimeState, finalizing));
#endif
	F(runtime_interpreters_head, offsetof(_PyRuntimeState, interpreters.head));
#if PY_VERSION_HEX < 0x030C0000
	F(runtime_gil_locked, offsetof(_PyRuntimeState, ceval.gil.locked));
	F(runtime_gil_holder, offsetof(_PyRuntimeState, ceval.gil.last_holder));
	NONE(interp_gil);
	NONE(gil_locked);
	NONE(gil_holder);
	F(runtime_gil, offsetof(_PyRuntimeState, ceval.gil));
	F(gil_size, SIZEOF(_PyRuntimeState, ceval.gil));
#else
	NONE(runtime_gil_locked);
	NONE(runtime_gil_holder);
	F(interp_gil, offsetof(PyInterpreterState, ceval.gil));
	F(gil_locked, offsetof(struct _gil_runtime_state, locked));
	F(gil_holder, offsetof(struct _gil_runtime_state, last_holder));
	NONE(runtime_gil);
	F(gil_size, sizeof(struct _gil_runtime_state));
#endif
#endif /* >= 3.7 */
	NONE(interp_gil_locked);
	NONE(interp_gil_holder);
	F(interp_next, offsetof(PyInterpreterState, next));
#if PY_VERSION_HEX >= 0x030B0000
	F(interp_threads_head, offsetof(PyInterpreterState, threads.head));
#else
	F(interp_threads_head, offsetof(PyInterpreterState, tstate_head));
#endif

	F(tstate_next, offsetof(PyThreadState, next));
	F(tstate_interp, offsetof(PyThreadState, interp));
#if PY_VERSION_HEX < 0x030B0000
	F(tstate_frame, offsetof(PyThreadState, frame));
	NONE(tstate_cframe);
	NONE(cframe_current_frame);
	NONE(cframe_previous);
	NONE(tstate_current_frame);
#elif PY_VERSION_HEX < 0x030D0000
	NONE(tstate_frame);
	F(tstate_cframe, offsetof(PyThreadState, cframe));
	F(cframe_current_frame, offsetof(_PyCFrame, current_frame));
	F(cframe_previous, offsetof(_PyCFrame, previous));
	NONE(tstate_current_frame);
#else
	NONE(tstate_frame);
	NONE(tstate_cframe);
	NONE(cframe_current_frame);
	NONE(cframe_previous);
	F(tstate_current_frame, offsetof(PyThreadState, current_frame));
#endif
	F(tstate_thread_id, offsetof(PyThreadState, thread_id));
#if PY_VERSION_HEX >= 0x030B0000
	F(tstate_native_thread_id, offsetof(PyThreadState, native_thread_id));
#else
	NONE(tstate_native_thread_id);
#endif
	F(tstate_size, sizeof(PyThreadState));

#if PY_VERSION_HEX < 0x030B0000
	F(frame_previous, offsetof(PyFrameObject, f_back));
	F(frame_code, offsetof(PyFrameObject, f_code));
	F(frame_instr, offsetof(PyFrameObject, f_lasti));
	NONE(frame_owner);
	NONE(frame_owner_cstack);
	NONE(frame_is_entry);
#if PY_VERSION_HEX >= 0x030A0000
	F(frame_executing, offsetof(PyFrameObject, f_state));
	F(frame_executing_value, FRAME_EXECUTING);
	F(frame_size, MAX(MAX(END(PyFrameObject, f_back), END(PyFrameObject, f_code)),
			  MAX(END(PyFrameObject, f_lasti), END(PyFrameObject, f_state))));
#else
	F(frame_executing, offsetof(PyFrameObject, f_executing));
	F(frame_executing_value, 1);
	F(frame_size, MAX(MAX(END(PyFrameObject, f_back), END(PyFrameObject, f_code)),
			  MAX(END(PyFrameObject, f_lasti), END(PyFrameObject, f_executing))));
#endif
#else
	F(frame_previous, offsetof(_PyInterpreterFrame, previous));
#if PY_VERSION_HEX < 0x030D0000
	F(frame_code, offsetof(_PyInterpreterFrame, f_code));
	F(frame_instr, offsetof(_PyInterpreterFrame, prev_instr));
#else
	F(frame_code, offsetof(_PyInterpreterFrame, f_executable));
	F(frame_instr, offsetof(_PyInterpreterFrame, instr_ptr));
#endif
	F(frame_owner, offsetof(_PyInterpreterFrame, owner));
#if PY_VERSION_HEX >= 0x030C0000
	F(frame_owner_cstack, FRAME_OWNED_BY_CSTACK);
	NONE(frame_is_entry);
#else
	NONE(frame_owner_cstack);
	F(frame_is_entry, offsetof(_PyInterpreterFrame, is_entry));
#endif
	NONE(frame_executing);
	NONE(frame_executing_value);
	F(frame_size, offsetof(_PyInterpreterFrame, localsplus));
#endif

	F(code_filename, offsetof(PyCodeObject, co_filename));
	F(code_name, offsetof(PyCodeObject, co_name));
#if PY_VERSION_HEX >= 0x030B0000
	F(code_qualname, offsetof(PyCodeObject, co_qualname));
	F(code_linetable, offsetof(PyCodeObject, co_linetable));
	F(code_code_adaptive, offsetof(PyCodeObject, co_code_adaptive));
	NONE(code_code);
	F(code_size, offsetof(PyCodeObject, co_code_adaptive));
#elif PY_VERSION_HEX >= 0x030A0000
	NONE(code_qualname);
	F(code_linetable, offsetof(PyCodeObject, co_linetable));
	NONE(code_code_adaptive);
	F(code_code, offsetof(PyCodeObject, co_code));
	F(code_size, sizeof(PyCodeObject));
#else
	NONE(code_qualname);
	F(code_linetable, offsetof(PyCodeObject, co_lnotab));
	NONE(code_code_adaptive);
	F(code_code, offsetof(PyCodeObject, co_code));
	F(code_size, sizeof(PyCodeObject));
#endif
	F(code_firstlineno, offsetof(PyCodeObject, co_firstlineno));
	F(code_argcount, offsetof(PyCodeObject, co_argcount));

	F(unicode_length, offsetof(PyASCIIObject, length));
	F(unicode_state, offsetof(PyASCIIObject, state));
	F(unicode_ascii_size, sizeof(PyASCIIObject));
	F(unicode_compact_size, sizeof(PyCompactUnicodeObject));
	printf("\t\t.unicode_kind_mask = 0x%x,\n", state_mask(0));
	printf("\t\t.unicode_compact_mask = 0x%x,\n", state_mask(1));
	printf("\t\t.unicode_ascii_mask = 0x%x,\n", state_mask(2));

	F(bytes_size, offsetof(PyVarObject, ob_size));
	F(bytes_sval, offsetof(PyBytesObject, ob_sval));
	F(object_type, offsetof(PyObject, ob_type));

	/* what reading threading._active takes: the modules dict, dicts, instance
	 * attributes of a Python class, and ints */
#if PY_VERSION_HEX >= 0x030C0000
	F(interp_modules, offsetof(PyInterpreterState, imports.modules));
#else
	F(interp_modules, offsetof(PyInterpreterState, modules));
#endif
#if PY_VERSION_HEX >= 0x030B0000
	F(module_dict, offsetof(PyModuleObject, md_dict));
#else
	F(module_dict, sizeof(PyObject)); /* md_dict follows the head in every version */
#endif
	F(type_flags, offsetof(PyTypeObject, tp_flags));
	F(type_basicsize, offsetof(PyTypeObject, tp_basicsize));
	F(type_dictoffset, offsetof(PyTypeObject, tp_dictoffset));
	F(heaptype_cached_keys, offsetof(PyHeapTypeObject, ht_cached_keys));
	F(dict_keys, offsetof(PyDictObject, ma_keys));
	F(dict_values, offsetof(PyDictObject, ma_values));
#if PY_VERSION_HEX >= 0x030B0000
	NONE(dictkeys_size);
	F(dictkeys_log2_size, offsetof(PyDictKeysObject, dk_log2_size));
	F(dictkeys_log2_index_bytes, offsetof(PyDictKeysObject, dk_log2_index_bytes));
	F(dictkeys_kind, offsetof(PyDictKeysObject, dk_kind));
	F(dictkeys_nentries, offsetof(PyDictKeysObject, dk_nentries));
	F(dictkeys_indices, offsetof(PyDictKeysObject, dk_indices));
#else
	/* Objects/dict-common.h is not installed; its layout held from 3.6 to 3.10:
	 * dk_refcnt, dk_size, dk_lookup, dk_usable, dk_nentries, dk_indices */
	F(dictkeys_size, sizeof(Py_ssize_t));
	NONE(dictkeys_log2_size);
	NONE(dictkeys_log2_index_bytes);
	NONE(dictkeys_kind);
	F(dictkeys_nentries, 3 * sizeof(Py_ssize_t) + sizeof(void *));
	F(dictkeys_indices, 4 * sizeof(Py_ssize_t) + sizeof(void *));
#endif
#if PY_VERSION_HEX >= 0x030D0000
	F(dictvalues_valid, offsetof(PyDictValues, valid));
	F(dictvalues_values, offsetof(PyDictValues, values));
	F(type_flag_inline_values, Py_TPFLAGS_INLINE_VALUES);
#elif PY_VERSION_HEX >= 0x030B0000
	NONE(dictvalues_valid);
	F(dictvalues_values, offsetof(PyDictValues, values));
	NONE(type_flag_inline_values);
#else
	NONE(dictvalues_valid);
	F(dictvalues_values, 0); /* ma_values is a PyObject *[] */
	NONE(type_flag_inline_values);
#endif
#if PY_VERSION_HEX >= 0x030B0000
	F(type_flag_managed_dict, Py_TPFLAGS_MANAGED_DICT);
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
	/* 3.12 names no offset: _PyObject_DictOrValuesPointer is obj - 3 words */
	F(object_managed_dict, -3 * (long)sizeof(PyObject *));
#else
	F(object_managed_dict, MANAGED_DICT_OFFSET);
#endif
#else
	NONE(type_flag_managed_dict);
	NONE(object_managed_dict);
#endif
#if PY_VERSION_HEX >= 0x030C0000
	F(long_size, offsetof(PyLongObject, long_value.lv_tag));
	F(long_size_shift, _PyLong_NON_SIZE_BITS);
	F(long_digits, offsetof(PyLongObject, long_value.ob_digit));
#else
	F(long_size, offsetof(PyVarObject, ob_size));
	F(long_size_shift, 0);
	F(long_digits, offsetof(PyLongObject, ob_digit));
#endif
	F(long_digit_bits, PyLong_SHIFT);

	/* what `filspy dump --locals` reads: a frame's local slots, the code's names
	 * for them, and the few value types it shows */
#if PY_VERSION_HEX >= 0x030B0000
	F(frame_localsplus, offsetof(_PyInterpreterFrame, localsplus));
	F(code_nlocals, offsetof(PyCodeObject, co_nlocalsplus));
	F(code_varnames, offsetof(PyCodeObject, co_localsplusnames));
	F(code_localspluskinds, offsetof(PyCodeObject, co_localspluskinds));
#else
	F(frame_localsplus, offsetof(PyFrameObject, f_localsplus));
	F(code_nlocals, offsetof(PyCodeObject, co_nlocals));
	F(code_varnames, offsetof(PyCodeObject, co_varnames));
	NONE(code_localspluskinds);
#endif
	F(tuple_size, offsetof(PyVarObject, ob_size));
	F(tuple_items, offsetof(PyTupleObject, ob_item));
	F(type_name, offsetof(PyTypeObject, tp_name));
	F(float_value, offsetof(PyFloatObject, ob_fval));
	printf("\t},\n");
	return 0;
}

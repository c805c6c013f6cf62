"""Runs a spinning function inside a sub-interpreter (3.8+)."""
try:
    import _interpreters as interpreters  # 3.13
except ImportError:
    import _xxsubinterpreters as interpreters  # 3.8-3.12

CODE = '''
import time
def sub_spin():
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        pass
sub_spin()
'''

interp = interpreters.create()
if hasattr(interpreters, "run_string"):
    interpreters.run_string(interp, CODE)
else:
    interpreters.exec(interp, CODE)
interpreters.destroy(interp)
print("subinterpreter done")

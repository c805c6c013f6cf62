"""Functions made one after another, each run once for argv[1] ms (default 25) and
freed before the next is compiled: their code objects take each other's
addresses. Prints how many code addresses were used again."""
import sys
import time

MS = float(sys.argv[1]) if len(sys.argv) > 1 else 25.0
seen, again = set(), 0
for i in range(40):
    src = f"def f_{i}(end):\n    n = 0\n    while __import__('time').monotonic() < end:\n        n += {i}\n"
    ns = {}
    exec(compile(src, f"fresh_{i}.py", "exec"), ns)
    fn = ns.pop(f"f_{i}")  # no cycle through its globals: freed at once
    again += id(fn.__code__) in seen
    seen.add(id(fn.__code__))
    fn(time.monotonic() + MS / 1000)
    del fn, ns
print(f"reused {again}")

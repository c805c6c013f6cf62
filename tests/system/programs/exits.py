"""Ends by the route named in argv[1] after half a second of work."""
import os
import signal
import sys
import time


def spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


route = sys.argv[1]
spin(0.5)
print("before", route, flush=True)
if route == "return":
    pass
elif route == "exit":
    sys.exit(3)
elif route == "raise":
    raise RuntimeError("uncaught on purpose")
elif route == "_exit":
    os._exit(4)
else:
    os.kill(os.getpid(), getattr(signal, route))
    time.sleep(10)
print("after", route)

"""Two threads hashing large buffers with hashlib, which releases the GIL while it
hashes, for argv[1] seconds (default 3): the GIL view shows them running without it."""
import hashlib
import sys
import threading
import time

DURATION = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
BUFFER = b"x" * (4 << 20)
stop = threading.Event()


def hash_loop():
    n = 0
    while not stop.is_set():
        n += hashlib.sha256(BUFFER).digest()[0]
    return n


threads = [threading.Thread(target=hash_loop, name=f"hasher-{i}") for i in range(2)]
for t in threads:
    t.start()
time.sleep(DURATION)
stop.set()
for t in threads:
    t.join()
print("done")

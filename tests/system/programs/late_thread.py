"""Sleeps argv[1] seconds (a quiet start), then runs a thread that spins 0.1 s of
its own CPU time (late_spin), and prints that time."""
import sys
import threading
import time

used = []


def late_spin():
    end = time.thread_time() + 0.1
    while time.thread_time() < end:
        pass
    used.append(time.thread_time())


time.sleep(float(sys.argv[1]))
t = threading.Thread(target=late_spin)
t.start()
t.join()
print(f"{used[0]:.3f}")

"""A thread that spins 1 s of CPU (in_thread), started after the main thread spun
0.3 s (at <module> level)."""
import threading
import time

# 3.6 has no thread_time; the other thread only waits meanwhile
clock = getattr(time, "thread_time", time.process_time)


def spin(seconds):
    end = clock() + seconds
    while clock() < end:
        pass


def in_thread():
    spin(1.0)


spin(0.3)
t = threading.Thread(target=in_thread)
t.start()
t.join()

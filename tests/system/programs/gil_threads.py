"""Three CPU-bound threads and one sleeping thread, for a while (argv[1] seconds,
default 3): what the GIL view and the thread settings are tested with."""
import sys
import threading
import time

DURATION = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
stop = threading.Event()


def spin():
    n = 0
    while not stop.is_set():
        for i in range(2000):
            n += i * i
    return n


def snooze():
    # long sleeps: each wake-up waits for the GIL a little, behind the busy threads
    while not stop.is_set():
        time.sleep(0.5)


threads = [threading.Thread(target=spin, name=f"busy-{i}") for i in range(3)]
threads.append(threading.Thread(target=snooze, name="sleeper"))
for t in threads:
    t.start()
time.sleep(DURATION)
stop.set()
for t in threads:
    t.join()
print("done")

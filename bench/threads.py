"""Three CPU-bound threads and one sleeping thread for argv[1] seconds (3)."""
import sys
import threading
import time


def busy(seconds):
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        x += 1


def sleeper(seconds):
    time.sleep(seconds)


seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
threads = [threading.Thread(target=busy, args=(seconds,), name=f"busy-{i}") for i in range(3)]
threads.append(threading.Thread(target=sleeper, args=(seconds,), name="sleeper"))
for t in threads:
    t.start()
for t in threads:
    t.join()
print("threads done")

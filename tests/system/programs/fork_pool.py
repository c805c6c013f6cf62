"""multiprocessing with the fork start method: must complete under the agent."""
import multiprocessing as mp
import os
import time


def square(x):
    total = 0
    for i in range(100000):
        total += i % (x + 1)
    return x * x


if __name__ == "__main__":
    mp.set_start_method("fork")
    with mp.Pool(2) as pool:
        print(sum(pool.map(square, range(64))))
    pid = os.fork()
    if pid == 0:
        # long enough (0.3 s of CPU) for the child's own sampler to see it
        deadline = time.process_time() + 0.3
        while time.process_time() < deadline:
            square(0)
        os._exit(0)
    os.waitpid(pid, 0)
    print("forked child done")

"""multiprocessing with the fork start method: must complete under the agent."""
import multiprocessing as mp
import os


def square(x):
    total = 0
    for i in range(20000):
        total += i % (x + 1)
    return x * x


if __name__ == "__main__":
    mp.set_start_method("fork")
    with mp.Pool(2) as pool:
        print(sum(pool.map(square, range(64))))
    pid = os.fork()
    if pid == 0:
        square(3)
        os._exit(0)
    os.waitpid(pid, 0)
    print("forked child done")

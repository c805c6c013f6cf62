"""Fast-changing call chains: 400 generated functions g0..g399 and 2000 fixed chains
of 8 of them; each function calls the next of its chain and the last one spins 200
iterations, so the chain under the leaf changes every ~20 us. Runs argv[1] seconds
(default 3), then prints the chains as JSON: a sampled stack whose g-frames are no
prefix of any chain is one the program never had (two chains spliced)."""
import json
import random
import sys
import time

N_FUNCS, N_CHAINS, DEPTH, SPIN = 400, 2000, 8, 200

source = "".join(
    f"def g{i}(chain, d):\n"
    f"    if d + 1 < len(chain):\n"
    f"        return F[chain[d + 1]](chain, d + 1)\n"
    f"    n = 0\n"
    f"    for k in range({SPIN}):\n"
    f"        n += k\n"
    f"    return n\n"
    for i in range(N_FUNCS))
space = {}
exec(compile(source, "chains_gen.py", "exec"), space)
F = [space[f"g{i}"] for i in range(N_FUNCS)]
space["F"] = F

rng = random.Random(20261201)
chains = [tuple(rng.sample(range(N_FUNCS), DEPTH)) for _ in range(N_CHAINS)]


def run(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for c in chains:
            F[c[0]](c, 0)


def in_a_thread(seconds):
    import threading
    t = threading.Thread(target=run, args=(seconds,), name="chains")
    t.start()
    t.join()


seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
(in_a_thread if "--thread" in sys.argv else run)(seconds)
print(json.dumps(chains))

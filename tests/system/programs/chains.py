"""Fast-changing call chains: 400 generated functions g0..g399 and 2000 fixed chains
of 8 of them; each function calls the next of its chain and the last one spins, so
the chain under the leaf changes every few microseconds. Half the chains are quick
(the leaf spins SPIN iterations, 200 by default: ~5 us a chain on 3.9, ~3.5 on
3.12 here), half are slow (4 x SPIN), in a fixed shuffled order: a sampler that
drops or moves the samples it cannot read whole under-samples the quick ones.

    chains.py [SECONDS] [--thread] [--period US]

--thread runs the chains in a thread of their own; --period US sets SPIN so that a
quick chain lasts about US microseconds on this interpreter (measured before the
run). Prints JSON: the chains (a sampled stack whose g-frames are no prefix of any
of them is one the program never had: two chains spliced), each chain's group, the
share of the chains' time each group took (measured by the program), and the
quick chains' measured life in microseconds."""
import json
import random
import sys
import time

N_FUNCS, N_CHAINS, DEPTH, SPIN, SLOW = 400, 2000, 8, 200, 4


def generate(prefix):
    """The functions prefix0..prefix399, each calling the next of its chain."""
    source = "".join(
        f"def {prefix}{i}(chain, d, spin):\n"
        f"    if d + 1 < len(chain):\n"
        f"        return F[chain[d + 1]](chain, d + 1, spin)\n"
        f"    n = 0\n"
        f"    for k in range(spin):\n"
        f"        n += k\n"
        f"    return n\n"
        for i in range(N_FUNCS))
    space = {}
    exec(compile(source, f"chains_{prefix}.py", "exec"), space)
    space["F"] = [space[f"{prefix}{i}"] for i in range(N_FUNCS)]
    return space["F"]


F = generate("g")
# the same code under other names, for measuring a chain's life: the samples of a
# measurement are of no group (both groups' chains run with one spin there: as
# g-frames they moved the quick share about a point towards a half)
H = generate("h")

rng = random.Random(20261201)
chains = [tuple(rng.sample(range(N_FUNCS), DEPTH)) for _ in range(N_CHAINS)]
groups = ["quick" if i % 2 == 0 else "slow" for i in range(N_CHAINS)]
order = list(range(N_CHAINS))
rng.shuffle(order)
clock = time.perf_counter


def quick_life(spin):
    """Microseconds one quick chain takes with this spin (best of three passes)."""
    best = float("inf")
    for _ in range(3):
        start = clock()
        for c in chains[:400]:
            H[c[0]](c, 0, spin)
        best = min(best, (clock() - start) / 400 * 1e6)
    return best


def bracket():
    """Seconds a measurement below adds outside the chain's frames (the clock's
    calls, the lookup and the call itself): a call of a function of no frames'
    worth, measured the same way (best of five passes)."""
    def noop(chain, d, spin):
        return 0
    best = float("inf")
    for _ in range(5):
        took = 0.0
        for c in chains[:400]:
            start = clock()
            noop(c, 0, SPIN)
            took += clock() - start
        best = min(best, took / 400)
    return best


def run(seconds, spin, spent):
    spins = {"quick": spin, "slow": SLOW * spin}
    calls = {"quick": 0, "slow": 0}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for i in order:
            c, g = chains[i], groups[i]
            start = clock()
            F[c[0]](c, 0, spins[g])
            spent[g] += clock() - start
            calls[g] += 1
    # the same share of each measurement lies outside the frames a sampler sees:
    # a larger share of the quick ones (left in, about half a point of their share)
    outside = bracket()
    for g in spent:
        spent[g] = max(spent[g] - calls[g] * outside, 0.0)


def main(argv):
    seconds = float(argv[1]) if len(argv) > 1 and not argv[1].startswith("-") else 3.0
    spin = SPIN
    if "--period" in argv:
        want = float(argv[argv.index("--period") + 1])
        # the life of a chain is its calls plus its spin: two points give both
        base, more = quick_life(SPIN), quick_life(4 * SPIN)
        per_spin = (more - base) / (3 * SPIN)
        spin = max(10, round(SPIN + (want - base) / per_spin))
    spent = {"quick": 0.0, "slow": 0.0}
    if "--thread" in argv:
        import threading
        t = threading.Thread(target=run, args=(seconds, spin, spent), name="chains")
        t.start()
        t.join()
    else:
        run(seconds, spin, spent)
    total = sum(spent.values())
    print(json.dumps({"chains": chains, "groups": groups,
                      "truth": {g: t / total for g, t in spent.items()},
                      "quick_us": quick_life(spin), "spin": spin}))


main(sys.argv)

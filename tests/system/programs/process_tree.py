"""A process tree: Graphviz dot, a Python subprocess, a spawn-method pool."""
import subprocess, sys, multiprocessing as mp
def sq(x): return x*x
if __name__ == "__main__":
    subprocess.run(["dot", "-Tsvg", "-o", "/dev/null"], input=b"digraph{a->b}", check=True)
    subprocess.run([sys.executable, "-c", "print(sum(range(10**6)))"], check=True)
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as p: print(sum(p.map(sq, range(10))))

"""The program's own work, after start-up imports (a .pth file in the user site
that imports a package of nested modules: see test_views.import_tower)."""
import time


def work(seconds):
    start = time.time()
    x = 0
    while time.time() - start < seconds:
        x += 1
    return x


# long enough for py-spy (the pyspy backend's child) to attach on a loaded machine
work(1.5)

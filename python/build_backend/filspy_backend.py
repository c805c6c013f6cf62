"""The in-tree PEP 517 backend: runs `make all` and zips what it built with the
Python package in python/filspy into a wheel (linux_x86_64; scripts/build-wheel.sh
then has auditwheel repair it into the manylinux wheel that `make wheel` gives).

Why in-tree: the build is the Makefile (clang -target bpf, bpftool's skeleton, a
version script, a preload linked with libc alone). scikit-build-core and
meson-python would need it described a second time in CMake or meson; what is left
for a backend here is a zip file with a RECORD, which the standard library does.
Standard library only, Python 3.6+, so any pip can build it with no download.
"""
import base64
import hashlib
import io
import os
import subprocess
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME = "filspy"
# the packaged files: the agent, its bpf and native-stack helpers and the command,
# side by side as the agent and the command look for each other
# (core/pyspy_path.c, loader/cli.c)
BINARIES = ("libfilspy.so", "libfilspy-bpf.so", "libfilspy-native.so", "filspy")
PTH = "filspy-activate.pth"
TAG = "py3-none-linux_x86_64"


def _version():
    with open(os.path.join(ROOT, "VERSION")) as f:
        return f.read().strip()


def _metadata(version):
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    return "\n".join([
        "Metadata-Version: 2.1",
        "Name: " + NAME,
        "Version: " + version,
        "Summary: A sampling profiler for CPython: flamegraphs of every Python process, "
        "switched on by FIL_PERF_SPY_ENABLED=1",
        "Requires-Python: >=3.6",
        "Classifier: Operating System :: POSIX :: Linux",
        "Classifier: Programming Language :: Python :: 3",
        "Provides-Extra: pyspy",
        'Requires-Dist: py-spy>=0.3.14; extra == "pyspy"',
        "Description-Content-Type: text/markdown",
        "",
        readme,
    ])


ENTRY_POINTS = """[console_scripts]
filspy = filspy._cli:main
perf-pyspy = filspy._cli:perf_pyspy
"""


def _wheel_file():
    return "Wheel-Version: 1.0\nGenerator: filspy_backend\nRoot-Is-Purelib: false\nTag: %s\n" % TAG


def _build_native():
    build = os.environ.get("BUILD", "build")
    subprocess.run(["make", "-C", ROOT, "--no-print-directory", "BUILD=" + build, "all"],
                   check=True)
    return os.path.join(ROOT, build)


class _Wheel:
    def __init__(self, path):
        self.zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED)
        self.records = []

    def add(self, name, data, mode=0o644):
        info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = (0o100000 | mode) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        self.records.append("%s,sha256=%s,%d" % (name, digest, len(data)))

    def close(self, record):
        self.records.append(record + ",,")
        self.add(record, ("\n".join(self.records) + "\n").encode())
        self.zip.close()


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    version = _version()
    build = _build_native()
    name = "%s-%s-%s.whl" % (NAME, version, TAG)
    wheel = _Wheel(os.path.join(wheel_directory, name))
    package = os.path.join(ROOT, "python", NAME)
    for f in sorted(os.listdir(package)):
        if f.endswith(".py") and f != "_version.py":
            wheel.add("%s/%s" % (NAME, f), _read(os.path.join(package, f)))
    wheel.add(NAME + "/_version.py", ('__version__ = "%s"\n' % version).encode())
    for f in BINARIES:
        wheel.add("%s/_lib/%s" % (NAME, f), _read(os.path.join(build, f)), 0o755)
    wheel.add(PTH, _read(os.path.join(ROOT, "python", PTH)))
    info = "%s-%s.dist-info" % (NAME, version)
    wheel.add(info + "/METADATA", _metadata(version).encode())
    wheel.add(info + "/WHEEL", _wheel_file().encode())
    wheel.add(info + "/entry_points.txt", ENTRY_POINTS.encode())
    wheel.add(info + "/top_level.txt", (NAME + "\n").encode())
    wheel.close(info + "/RECORD")
    return name


def build_sdist(sdist_directory, config_settings=None):
    """The files git tracks, under filspy-VERSION/."""
    version = _version()
    base = "%s-%s" % (NAME, version)
    files = subprocess.run(["git", "-C", ROOT, "ls-files", "-z"], check=True,
                           stdout=subprocess.PIPE).stdout.decode().split("\0")
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as tar:
        for f in filter(None, files):
            if os.path.isfile(os.path.join(ROOT, f)):
                tar.add(os.path.join(ROOT, f), arcname="%s/%s" % (base, f))
        pkg_info = _metadata(version).encode()
        entry = tarfile.TarInfo(base + "/PKG-INFO")
        entry.size = len(pkg_info)
        tar.addfile(entry, io.BytesIO(pkg_info))
    return name

"""subprocess.run of a missing command (CPython forks it with vfork, whose child
exits through _exit in our memory), then more work that must still be profiled."""
import subprocess, time
def spin(s):
    end = time.monotonic() + s
    while time.monotonic() < end: pass
def before(): spin(0.5)
def after(): spin(1.0)
before()
for i in range(3):
    try:
        subprocess.run(["/nonexistent/cmd"])
    except FileNotFoundError:
        pass
after()
print("ok")

"""Prints the signal dispositions the program sees: must not change under the agent."""
import signal

for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1"):
    print(name, signal.getsignal(getattr(signal, name)))
signal.signal(signal.SIGTERM, lambda *a: None)
print("SIGTERM after set", signal.getsignal(signal.SIGTERM) is not None)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
print("SIGTERM after reset", signal.getsignal(signal.SIGTERM))

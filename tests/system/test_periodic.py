"""Work that repeats at exactly the sampling period: a sampler that ticks in step
with it sees the same point of the cycle every time (before the bpf backend's
clocks were restarted at random moments, every sample fell in one function)."""
import pytest

from conftest import PROGRAMS, backend_params, frame_function, parse_folded, python311


@pytest.mark.parametrize("backend", backend_params())
def test_work_in_step_with_the_sampling_clock_gets_its_true_share(backend, profiled):
    r = profiled([python311(), PROGRAMS / "periodic.py", "8"], FIL_PERF_SPY_BACKEND=backend,
                 FIL_PERF_SPY_OUTPUT="raw", FIL_PERF_SPY_RATE=100)
    assert r.returncode == 0 and r.stdout == "done\n", r.stderr
    counts = {"first": 0, "second": 0}
    for stack, n in parse_folded(r.raw()).items():
        function = frame_function(stack[-1])
        if function in counts:
            counts[function] += n
    total = sum(counts.values())
    assert total >= 500, counts  # 8 s at 100 Hz
    # 4 ms of every 10 ms: binomial noise at 800 samples is 1.7 points
    assert abs(counts["first"] / total - 0.4) <= 0.08, counts

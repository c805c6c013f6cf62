"""An asyncio program whose coroutines do the work."""
import asyncio
import time


async def crunch(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for _ in range(1000):
            pass
        await asyncio.sleep(0)


async def orchestrate():
    await asyncio.gather(crunch(0.8), crunch(0.8))


asyncio.run(orchestrate())
print("coroutines done")

# The perf-tools image: Debian 12 with Python, Graphviz, Filare and filspy, every
# Python process profiling itself through the preload.
#
#   docker build -f docker/perf-tools.Dockerfile -t filare-perf .
#   docker run --rm -v "$PWD/out:/work/outputs" filare-perf filare run demo.yml -o outputs
#   # -> out/perf/filare-<pid>-pyspy.svg
#
# The self backend needs no capability. For the pyspy backend add
# --cap-add SYS_PTRACE; `filspy doctor` inside the container says what works.
FROM debian:12

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential clang zlib1g-dev python3 python3-pip python3-venv graphviz \
      ca-certificates make \
 && rm -rf /var/lib/apt/lists/*

COPY . /src/filspy
RUN make -C /src/filspy install PREFIX=/usr/local \
 && python3 -m venv /opt/filare \
 && /opt/filare/bin/pip install --no-cache-dir filare faker py-spy

ENV PATH=/opt/filare/bin:$PATH \
    LD_PRELOAD=/usr/local/lib/libfilspy.so \
    FIL_PERF_SPY_ENABLED=1 \
    FIL_PERF_SPY_OUTPUT=svg,raw \
    FIL_PERF_OUTPUT_DIR=/work/outputs/perf

WORKDIR /work
# `perf-pyspy CMD` is the wrap-mode alias for images that do not set the ENV above.
CMD ["filspy", "doctor"]

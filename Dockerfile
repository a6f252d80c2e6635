# smolnb in a container: batch evals and agent runs, configured by the environment.
#   docker build -t smolnb .
#   docker run --rm -v smolnb-data:/data -e SMOLNB_MODEL=openai/gpt-4o-mini -e OPENAI_API_KEY smolnb run "..."
#   docker run --rm -v smolnb-data:/data smolnb eval run evals/local.yaml
# deploy/compose.yaml runs it as JupyterLab beside Neo4j, the Phoenix trace viewer and a Ray head.
# The install step is the one CI runs (`make install`), so it is known to work. The build
# context is what .dockerignore leaves: no .venv, .git or build outputs.
#
# PyPI's torch (for the embedding model) depends on CUDA libraries the CPU never uses; to leave
# them out, pass the PyTorch CPU wheel index as --build-arg TORCH_INDEX_URL=...

# -- build: compilers for llama-cpp-python (no wheel on PyPI) and the C speedups ---------------
FROM python:3.11-slim AS build

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake make git \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 smolnb && mkdir -p /app && chown smolnb:smolnb /app
WORKDIR /app
COPY --chown=smolnb:smolnb pyproject.toml README.md Makefile ./
COPY --chown=smolnb:smolnb smolnb ./smolnb

USER 1000:1000
ARG TORCH_INDEX_URL=""
ENV PIP_NO_CACHE_DIR=1 \
    CMAKE_BUILD_PARALLEL_LEVEL=4
RUN if [ -n "$TORCH_INDEX_URL" ]; then \
        python3 -m venv .venv && .venv/bin/pip install -q --index-url "$TORCH_INDEX_URL" torch; \
    fi
RUN make install EXTRAS=all

# -- run: the same Python and the built venv, without the compilers -----------------------------
FROM python:3.11-slim

# OpenMP for llama.cpp, libseccomp for the sandbox executor: runtime libraries only.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 libseccomp2 \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 smolnb \
    && mkdir -p /data /app \
    && chown smolnb:smolnb /data /app
WORKDIR /app
COPY --from=build --chown=smolnb:smolnb /app /app
COPY --chown=smolnb:smolnb datasets ./datasets
COPY --chown=smolnb:smolnb evals ./evals

USER 1000:1000
ENV SMOLNB_HOME=/data \
    HF_HUB_OFFLINE=1 \
    PATH=/app/.venv/bin:$PATH

# Configuration: SMOLNB_MODEL (a litellm model string or local/...), SMOLNB_HOME (runs, memory,
# assembled weights), NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD (graph memory),
# OTEL_EXPORTER_OTLP_ENDPOINT (traces), SMOLNB_LOG_FORMAT=json (structured logs).
VOLUME ["/data"]
ENTRYPOINT ["smolnb"]
CMD ["--help"]

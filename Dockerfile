# smolnb in a container: batch evals and agent runs, configured by the environment.
#   docker build -t smolnb .
#   docker run --rm -v smolnb-data:/data -e SMOLNB_MODEL=openai/gpt-4o-mini -e OPENAI_API_KEY smolnb run "..."
# The install step is the one CI runs (`make install`), so it is known to work.
FROM python:3.11-slim

# Compilers for the llama-cpp-python build (no wheel on PyPI); make for the install target.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake make git \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 smolnb \
    && mkdir -p /data /app \
    && chown smolnb:smolnb /data /app

WORKDIR /app
COPY --chown=smolnb:smolnb pyproject.toml README.md Makefile ./
COPY --chown=smolnb:smolnb smolnb ./smolnb
COPY --chown=smolnb:smolnb datasets ./datasets

USER 1000:1000
ENV PIP_NO_CACHE_DIR=1 \
    CMAKE_BUILD_PARALLEL_LEVEL=4 \
    SMOLNB_HOME=/data \
    HF_HUB_OFFLINE=1 \
    PATH=/app/.venv/bin:$PATH
RUN make install EXTRAS=all

# Configuration: SMOLNB_MODEL (a litellm model string or local/...), SMOLNB_HOME (runs, memory,
# assembled weights), NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD (graph memory),
# OTEL_EXPORTER_OTLP_ENDPOINT (traces), SMOLNB_LOG_FORMAT=json (structured logs).
VOLUME ["/data"]
ENTRYPOINT ["smolnb"]
CMD ["--help"]

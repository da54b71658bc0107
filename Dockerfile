# syntax=docker/dockerfile:1
# Tarjama gRPC server. Two images from one file (docs/operations.md has the details):
#
#   docker build -t tarjama .                           # default: models baked in, verified offline (air-gapped)
#   docker build --target no-models -t tarjama:slim .   # no models: fill the /models volume instead
#   docker build --build-arg TRANSLATION_REVISION=<commit> --build-arg SUMMARIZATION_REVISION=<commit> -t tarjama .
#   docker build --build-arg SUMMARIZATION_MODEL=none -t tarjama .   # no non-commercial summarizer
#   docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 -t tarjama:gpu .  # CUDA torch
#   docker run -p 50051:50051 -p 8080:8080 -p 9464:9464 tarjama
#
# The virtual environment is installed by scripts/install.sh, the same script CI runs.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: the virtual environment (CPU torch from the CPU wheel index; CTranslate2 comes with it)
FROM ${PYTHON_IMAGE} AS build
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY scripts/install.sh scripts/install.sh
COPY client client
COPY server server
RUN PIP_EXTRA_INDEX_URL="$TORCH_INDEX_URL" bash scripts/install.sh /opt/venv

# ---- no-models: the runtime, without models; mount a filled cache at /models
FROM ${PYTHON_IMAGE} AS no-models
ARG TRANSLATION_MODEL=Helsinki-NLP/opus-mt-ar-en
ARG TRANSLATION_REVISION=main
ARG SUMMARIZATION_MODEL=csebuetnlp/mT5_multilingual_XLSum
ARG SUMMARIZATION_REVISION=main
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# tini is PID 1: it passes SIGTERM on to the server, which drains, and it reaps children.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini=0.19.* \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 tarjama \
    && mkdir -p /models /data \
    && chown tarjama:tarjama /models /data
COPY --from=build /opt/venv /opt/venv
COPY scripts/healthcheck.sh /usr/local/bin/tarjama-healthcheck
# HF_HOME=/models: the volume, the writable Hugging Face cache. HF_HUB_OFFLINE=1: the
# server never calls the hub at run time (override it only to run `tarjama-models download`).
# TARJAMA_DATA_DIR=/data: the volume for the desk's SQLite database (TARJAMA_DATABASE_URL for PostgreSQL).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HOME=/models \
    HF_HUB_OFFLINE=1 \
    TARJAMA_DATA_DIR=/data \
    TARJAMA_HOST=0.0.0.0 \
    TARJAMA_PORT=50051 \
    TARJAMA_HTTP_PORT=8080 \
    TARJAMA_METRICS_PORT=9464 \
    TARJAMA_TRANSLATION_MODEL=$TRANSLATION_MODEL \
    TARJAMA_TRANSLATION_REVISION=$TRANSLATION_REVISION \
    TARJAMA_SUMMARIZATION_MODEL=$SUMMARIZATION_MODEL \
    TARJAMA_SUMMARIZATION_REVISION=$SUMMARIZATION_REVISION
EXPOSE 50051 8080 9464
VOLUME ["/models", "/data"]
USER 10001
WORKDIR /home/tarjama
# Follows TARJAMA_PORT and TLS (TARJAMA_TLS_CERT); see scripts/healthcheck.sh. The start period covers model
# loading and, on a first start without a baked conversion (no-models), converting them for CTranslate2.
HEALTHCHECK --interval=30s --timeout=10s --start-period=900s --retries=3 \
    CMD ["sh", "/usr/local/bin/tarjama-healthcheck"]
ENTRYPOINT ["tini", "--", "tarjama-server"]

# ---- models: fetched while the build has network, pinned by revision, in a cache of their own
# (after no-models, so even the legacy builder skips it for --target no-models), and converted
# for the ctranslate2 engine (the server's default, auto) on CPU (int8) unless CTRANSLATE2_CONVERT=0.
# Air-gapped: LOCAL_MODELS names a folder of the build context holding model directories (saved
# with save_pretrained); it is copied to /opt/tarjama/models/local, and the models are named by
# their path there, e.g. --build-arg LOCAL_MODELS=my-models
# --build-arg TRANSLATION_MODEL=/opt/tarjama/models/local/opus-mt-ar-en (docs/operations.md).
FROM build AS models
ARG TRANSLATION_MODEL=Helsinki-NLP/opus-mt-ar-en
ARG TRANSLATION_REVISION=main
ARG SUMMARIZATION_MODEL=csebuetnlp/mT5_multilingual_XLSum
ARG SUMMARIZATION_REVISION=main
ARG CTRANSLATE2_CONVERT=1
ARG LOCAL_MODELS=""
ENV PATH=/opt/venv/bin:$PATH
# One tarjama-models process for both models: torch and transformers are imported once.
# $models and $convert are word lists on purpose. The local copies get whole-second file times:
# a local model's conversion is keyed by its files' times, which an image layer may round.
# hadolint ignore=SC2086
RUN --mount=type=bind,target=/context \
    set -e; \
    if [ -n "$LOCAL_MODELS" ]; then \
        mkdir -p /opt/tarjama/models/local; \
        cp -R "/context/$LOCAL_MODELS/." /opt/tarjama/models/local/; \
        find /opt/tarjama/models/local -exec touch -h -d @1700000000 {} +; \
    fi; \
    models="$TRANSLATION_MODEL@$TRANSLATION_REVISION"; \
    if [ "$SUMMARIZATION_MODEL" != "none" ]; then models="$models $SUMMARIZATION_MODEL@$SUMMARIZATION_REVISION"; fi; \
    convert=""; \
    if [ "$CTRANSLATE2_CONVERT" = "1" ]; then convert="--convert"; fi; \
    tarjama-models download $models $convert --cache-dir /opt/tarjama/models/hub \
        --device cpu --output-dir /opt/tarjama/models/ctranslate2; \
    mkdir -p /opt/tarjama/models/ctranslate2; \
    rm -rf /opt/tarjama/models/hub/.locks; \
    chmod -R a+rX,go-w /opt/tarjama/models

# ---- with-models (the default): the models baked in under /opt/tarjama/models, outside the
# /models volume so a mounted cache never hides them, and verified offline as the runtime user.
FROM no-models AS with-models
COPY --from=models /opt/tarjama/models /opt/tarjama/models
ENV TARJAMA_CACHE_DIR=/opt/tarjama/models/hub \
    TARJAMA_CTRANSLATE2_DIR=/opt/tarjama/models/ctranslate2
# hadolint ignore=SC2086
RUN models="$TARJAMA_TRANSLATION_MODEL@$TARJAMA_TRANSLATION_REVISION"; \
    if [ "$TARJAMA_SUMMARIZATION_MODEL" != "none" ]; then \
        models="$models $TARJAMA_SUMMARIZATION_MODEL@$TARJAMA_SUMMARIZATION_REVISION"; \
    fi; \
    tarjama-models verify $models --cache-dir "$TARJAMA_CACHE_DIR"

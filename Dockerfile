# Tarjama gRPC server, CPU image.
#
#   docker build -t tarjama .                                   # models mounted at run time
#   docker build --build-arg DOWNLOAD_MODELS=1 -t tarjama .     # models baked into the image
#   docker run -p 50051:50051 -p 9464:9464 -v hf-cache:/models tarjama
#
# Installs with scripts/install.sh, the same script CI runs.
FROM python:3.11-slim-bookworm

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG DOWNLOAD_MODELS=0
ARG TRANSLATION_MODEL=Helsinki-NLP/opus-mt-ar-en
ARG SUMMARIZATION_MODEL=csebuetnlp/mT5_multilingual_XLSum

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HOME=/models \
    PATH=/opt/venv/bin:$PATH

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY scripts/install.sh scripts/install.sh
COPY client client
COPY server server
COPY proto proto
RUN PIP_EXTRA_INDEX_URL="$TORCH_INDEX_URL" bash scripts/install.sh /opt/venv \
    && useradd --create-home --uid 10001 tarjama \
    && mkdir -p /models && chown tarjama:tarjama /models

USER 10001
RUN if [ "$DOWNLOAD_MODELS" = "1" ]; then \
        tarjama-models download "$TRANSLATION_MODEL" "$SUMMARIZATION_MODEL"; \
    fi

ENV TARJAMA_HOST=0.0.0.0 \
    TARJAMA_PORT=50051 \
    TARJAMA_METRICS_PORT=9464 \
    TARJAMA_TRANSLATION_MODEL=$TRANSLATION_MODEL \
    TARJAMA_SUMMARIZATION_MODEL=$SUMMARIZATION_MODEL
EXPOSE 50051 9464
VOLUME ["/models"]
WORKDIR /home/tarjama
HEALTHCHECK --interval=30s --timeout=10s --start-period=300s --retries=3 \
    CMD ["tarjama", "--timeout", "5", "health"]
ENTRYPOINT ["tarjama-server"]

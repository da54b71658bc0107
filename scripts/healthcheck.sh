#!/bin/sh
# The image's HEALTHCHECK: asks the gRPC health service on the server's own port
# (TARJAMA_PORT), over TLS when the server serves TLS (TARJAMA_TLS_CERT is set).
# With TLS the server certificate is checked against HEALTHCHECK_CA_FILE (default: the
# server's own certificate file, right when it is self-signed or the file holds its CA)
# and must carry the name HEALTHCHECK_SERVER_NAME (default: localhost).
# Exit 0 when SERVING, 1 otherwise (NOT_SERVING while the models load).
set -eu
target="localhost:${TARJAMA_PORT:-50051}"
if [ -n "${TARJAMA_TLS_CERT:-}" ]; then
    exec tarjama --timeout 5 --server "$target" \
        --ca-file "${HEALTHCHECK_CA_FILE:-$TARJAMA_TLS_CERT}" \
        --tls-server-name "${HEALTHCHECK_SERVER_NAME:-localhost}" health
fi
exec tarjama --timeout 5 --server "$target" health

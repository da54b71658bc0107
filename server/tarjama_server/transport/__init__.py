"""Transports: everything that speaks a wire protocol. Each converts its messages to the
core's requests and back, maps the core's errors to its status codes (one table per
transport) and shares ``calls`` (request ids, calls in flight, the access log) with the
others. gRPC: ``grpc_service`` (the servicer), ``protobuf`` (conversion), ``status``
(errors → status codes) and ``interceptors`` (token, undecodable requests)."""

"""Generated tarjama.v1 protobuf and gRPC stubs (see scripts/generate_protos.py)."""

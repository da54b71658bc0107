"""Prometheus metrics, defined once per process (the default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "tarjama_requests_total",
    "RPCs handled, by method, status code and protocol (grpc, or http: the JSON API).",
    ["method", "code", "protocol"],
)
REQUEST_SECONDS = Histogram(
    "tarjama_request_seconds",
    "RPC latency in seconds, by method and protocol.",
    ["method", "protocol"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
QUEUED_JOBS = Gauge("tarjama_queued_jobs", "Segments or chunks waiting for a model, by task.", ["task"])
BATCH_SIZE = Histogram(
    "tarjama_batch_size", "Jobs per model call, by task.", ["task"], buckets=(1, 2, 4, 8, 16, 32, 64)
)
BATCH_SECONDS = Histogram(
    "tarjama_batch_seconds",
    "Model call duration in seconds, by task.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
TOKENS = Counter("tarjama_tokens_total", "Tokens read and generated, by task and direction.", ["task", "direction"])
MODELS_READY = Gauge("tarjama_models_ready", "1 once every model is loaded and serving.")
REPETITION_RETRIES = Counter(
    "tarjama_repetition_retries_total", "Translation segments re-translated because the output looped."
)
REFUSED = Counter(
    "tarjama_refused_total", "Requests refused at admission because they could not finish in time, by task.", ["task"]
)
RELEASED = Counter(
    "tarjama_released_total",
    "Admitted requests released early (RESOURCE_EXHAUSTED) because their re-estimated finish passed their deadline, "
    "by task.",
    ["task"],
)
EXPIRED_JOBS = Counter(
    "tarjama_expired_jobs_total", "Queued jobs dropped before inference because their deadline passed.", ["task"]
)
THROUGHPUT = Gauge(
    "tarjama_throughput_tokens_per_second", "Measured inference throughput (moving average), by task.", ["task"]
)
PADDED_INPUT_TOKENS = Counter(
    "tarjama_padded_input_tokens_total",
    "Input positions of the model's batches, padding included, by task (compare tarjama_tokens_total input).",
    ["task"],
)
CACHE_REQUESTS = Counter(
    "tarjama_cache_requests_total",
    "Result cache look-ups, by kind (translation, summary) and result (hit, miss).",
    ["kind", "result"],
)
CACHE_EVICTIONS = Counter("tarjama_cache_evictions_total", "Result cache entries evicted to stay within --cache-bytes.")
CACHE_BYTES = Gauge("tarjama_cache_bytes", "Bytes the result cache holds (estimated), bounded by --cache-bytes.")
CACHE_ENTRIES = Gauge("tarjama_cache_entries", "Entries in the result cache.")
ASYNCIO_TASKS = Gauge("tarjama_asyncio_tasks", "Tasks on the server's event loop (a leak shows as growth).")
THREADS = Gauge("tarjama_threads", "Threads in the server process.")
MEMORY_UNAVAILABLE = Counter(
    "tarjama_memory_unavailable_total",
    "Translations that asked for a translation memory and went on without it: the desk's database could not be "
    "reached.",
)
DESK_WRITES = Counter("tarjama_desk_writes_total", "Desk writes committed, by action.", ["action"])
KEY_REQUESTS = Counter(
    "tarjama_key_requests_total",
    "Calls by API key name (never the key), method and status.",
    ["key", "method", "status"],
)
KEY_CHARACTERS = Counter(
    "tarjama_key_characters_total",
    "Characters the models read for each API key (by name): pass-through, cache and memory hits are free.",
    ["key"],
)

"""Every server setting in one typed object, filled from flags, then ``TARJAMA_*``
environment variables, then defaults (a flag wins over the environment)."""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_TRANSLATION_MODEL = "Helsinki-NLP/opus-mt-ar-en"
DEFAULT_SUMMARIZATION_MODEL = "csebuetnlp/mT5_multilingual_XLSum"
ENV_PREFIX = "TARJAMA_"


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    host: str = _setting("127.0.0.1", "address to listen on (0.0.0.0 or [::] for all interfaces)")
    port: int = _setting(50051, "gRPC port (0 picks a free one)")
    http_port: int = _setting(
        8080,
        "HTTP port on the same host: the JSON API (Connect protocol), the editor's page at /, /openapi.json, "
        "/healthz and /readyz (0 disables HTTP)",
    )
    http_cors_origins: str = _setting(
        "",
        "comma-separated origins (https://cms.example.org) whose pages may call the HTTP API from a browser; "
        "empty = the server's own page only (same origin)",
    )
    translation_model: str = _setting(DEFAULT_TRANSLATION_MODEL, "translation model: hub id or local directory")
    translation_revision: str = _setting(
        "", "hub revision (branch, tag or commit) of the translation model; empty = main"
    )
    translation_source_languages: str = _setting("ar", "comma-separated source languages of the translation model")
    translation_target_languages: str = _setting("en", "comma-separated target languages of the translation model")
    summarization_model: str = _setting(
        DEFAULT_SUMMARIZATION_MODEL, "summarization model: hub id or local directory; 'none' disables Summarize"
    )
    summarization_revision: str = _setting("", "hub revision of the summarization model; empty = main")
    summarization_languages: str = _setting("ar,en", "comma-separated languages the summarizer reads and writes")
    cache_dir: str = _setting("", "model cache directory (default: the Hugging Face cache, HF_HOME)")
    offline: bool = _setting(False, "never contact the model hub; load from the cache or local directories only")
    device: str = _setting("auto", "cpu, cuda, cuda:N, or auto (cuda when available)")
    translation_engine: str = _setting(
        "auto",
        "inference engine for translation: auto (ctranslate2 where installed, else transformers), "
        "ctranslate2 or transformers",
    )
    translation_alignment_layer: int = _setting(
        -1,
        "decoder layer whose cross-attention gives word alignment (negative: from the last; "
        "opus-mt's guided head is in the last)",
    )
    translation_alignment_heads: int = _setting(
        1,
        "how many leading heads of that layer to average for word alignment (1: the first head, "
        "the one Marian's guided alignment trains)",
    )
    summarization_engine: str = _setting(
        "auto",
        "inference engine for summarization: auto (ctranslate2 where installed, else transformers), "
        "ctranslate2 or transformers",
    )
    ctranslate2_compute_type: str = _setting(
        "auto", "CTranslate2 weights: auto (int8 on CPU, int8_float16 on CUDA), int8, float16, float32..."
    )
    ctranslate2_dir: str = _setting(
        "", "where models converted for CTranslate2 are kept (default: $HF_HOME/tarjama-ctranslate2)"
    )
    torch_threads: int = _setting(
        0,
        "CPU threads for inference: torch intra-op threads, and the cores model workers share "
        "(0 = one per core this process may use)",
    )
    model_workers: int = _setting(
        0,
        "batches each model runs at once, each on cores/N threads (0 = auto: one per core on CPU, "
        "cores being --torch-threads when set; 1 on CUDA)",
    )
    num_beams: int = _setting(4, "default beam width for translation")
    summary_num_beams: int = _setting(4, "default beam width for summarization")
    max_segment_tokens: int = _setting(256, "longest segment sent to the translation model, in tokens")
    repetition_guard: bool = _setting(
        True, "translate a looping output again with n-gram blocking (--no-repetition-guard keeps raw output)"
    )
    max_batch_size: int = _setting(16, "most segments per model call")
    batch_wait_ms: float = _setting(2.0, "how long a model worker waits for more segments to fill a batch")
    max_queued_jobs: int = _setting(
        4096, "most segments waiting per model (a memory guard; the queue bound is --max-queue-seconds)"
    )
    max_queue_seconds: float = _setting(
        300.0,
        "queue bound in seconds of work (estimated from measured throughput): a request that would finish later, "
        "or after its own deadline, gets RESOURCE_EXHAUSTED at once; also the wait bound of calls without a deadline",
    )
    deadline_margin: float = _setting(
        0.8, "admit a call only if its estimated finish lies within this share of its remaining deadline"
    )
    request_batch_share: float = _setting(
        0.5, "most of a batch one request takes while others wait (a short request is not stuck behind a long one)"
    )
    max_batch_tokens: int = _setting(
        4096, "most input positions of one batch, padding included (batch size × its longest segment, in tokens)"
    )
    assumed_tokens_per_second: float = _setting(
        0.0, "throughput to assume until measured (0 = measure one full batch per model at start-up)"
    )
    cache_bytes: int = _setting(
        256 * 1024 * 1024,
        "bound of the in-process result cache, in bytes (translated segments and summaries; 0 disables it)",
    )
    max_texts: int = _setting(64, "most texts in one TranslateRequest")
    max_text_chars: int = _setting(200_000, "longest text accepted, in characters")
    max_concurrent_rpcs: int = _setting(256, "most RPCs in flight; more get RESOURCE_EXHAUSTED from gRPC")
    max_connection_age_seconds: float = _setting(
        0.0,
        "ask clients to reconnect after this long (0 = never), so round-robin clients re-resolve DNS and "
        "reach new replicas; calls in flight finish first",
    )
    http_header_timeout_seconds: float = _setting(
        10.0,
        "HTTP: a connection must send a request's headers within this long of connecting or of its last "
        "response, else it is closed (slow or silent clients cannot hold a connection; 0 = no limit)",
    )
    http_keep_alive_seconds: float = _setting(
        5.0, "HTTP: an idle keep-alive connection is closed after this long without a new request"
    )
    http_max_connections: int = _setting(
        2000,
        "HTTP: most open connections; past it a new one takes the place of the longest-idle connection "
        "(one waiting for a request), or gets 503 when every connection has a call in flight (0 = no limit)",
    )
    http_max_calls: int = _setting(
        256, "HTTP: most API calls in flight; more get 503 (unavailable) with Retry-After at once (0 = no limit)"
    )
    metrics_port: int = _setting(9464, "Prometheus /metrics port (0 disables)")
    auth_token: str = _setting(
        "",
        "an admin key: once set (or once any key exists, see tarjama-keys), every call except health must send "
        "'authorization: Bearer <key>'",
    )
    key_refresh_seconds: float = _setting(
        3.0, "how often the server rereads the API keys (tarjama-keys create/revoke take effect within this)"
    )
    tls_cert: str = _setting("", "PEM certificate chain file; with --tls-key serves TLS")
    tls_key: str = _setting("", "PEM private key file")
    shutdown_grace_seconds: float = _setting(20.0, "on SIGTERM, how long in-flight calls may finish")
    engine_timeout_seconds: float = _setting(
        600.0,
        "watchdog: a model call running longer is taken as hung; calls in flight get UNAVAILABLE, health turns "
        "NOT_SERVING and the process exits with status 3 so that it is restarted (0 disables)",
    )
    data_dir: str = _setting(
        "",
        "where the server keeps its files: the desk's SQLite database (empty = $XDG_DATA_HOME/tarjama, "
        "else ~/.local/share/tarjama)",
    )
    database_url: str = _setting(
        "",
        "the desk's database (glossaries, translation memory): empty = a SQLite file tarjama.db in --data-dir; "
        "postgresql://USER:PASSWORD@HOST/DB for replicas that share one desk; none = no desk",
    )
    memory_min_similarity: float = _setting(
        0.75, "least similarity (0 to 1) of a translation-memory near match a segment carries, unless the call says"
    )
    log_level: str = _setting("INFO", "DEBUG, INFO, WARNING or ERROR")
    log_format: str = _setting("text", "text or json (one JSON object a line)")

    @property
    def summarization_enabled(self) -> bool:
        return self.summarization_model.strip().lower() not in ("", "none", "off")

    @property
    def data_path(self) -> Path:
        """``--data-dir``, or the user's data directory."""
        if self.data_dir:
            return Path(self.data_dir).expanduser()
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(base) / "tarjama"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def _env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tarjama-server",
        description="Tarjama gRPC server. Every flag can also be set as TARJAMA_<FLAG> in the environment.",
    )
    for setting in dataclasses.fields(Settings):
        flag = "--" + setting.name.replace("_", "-")
        env_name = _env_name(setting.name)
        help_text = f"{setting.metadata['help']} [env {env_name}]"
        raw = env.get(env_name)
        kind: Any = type(setting.default)  # bool, int, float or str
        if kind is bool:
            try:
                default = _parse_bool(raw) if raw is not None else setting.default
            except ValueError as error:
                parser.error(f"{env_name}: {error}")
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
            continue
        try:
            default = kind(raw) if raw is not None else setting.default
        except ValueError:
            parser.error(f"{env_name}={raw!r} is not a valid {kind.__name__}")
        parser.add_argument(flag, type=kind, default=default, help=f"{help_text} (default: {default!r})")
    return parser


def load_settings(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    environment = os.environ if env is None else env
    namespace = build_parser(environment).parse_args(argv)
    settings = Settings(**vars(namespace))
    # The hub's own switch means the same thing.
    try:
        hub_offline = _parse_bool(environment.get("HF_HUB_OFFLINE", ""))
    except ValueError:
        hub_offline = False
    if hub_offline and not settings.offline:
        settings = dataclasses.replace(settings, offline=True)
    return settings


def split_languages(value: str) -> tuple[str, ...]:
    return tuple(code.lower() for code in split_list(value))


def split_list(value: str) -> tuple[str, ...]:
    """A comma-separated setting's items, stripped, empty ones dropped."""
    return tuple(item.strip() for item in value.split(",") if item.strip())

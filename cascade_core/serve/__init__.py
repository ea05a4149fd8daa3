"""The OpenAI-compatible cascade endpoint (`python -m cascade_core serve`): app, validation, auth, metrics and
the append-only Parquet request log."""

from cascade_core.serve.app import ServeSettings, create_app
from cascade_core.serve.auth import TOKEN_ENV
from cascade_core.serve.counters import Metrics
from cascade_core.serve.log_writer import LogWriter
from cascade_core.serve.validate import ChatRequest, parse_chat_request
from cascade_core.wire.errors import ApiError

__all__ = ["TOKEN_ENV", "ApiError", "ChatRequest", "LogWriter", "Metrics", "ServeSettings", "create_app",
           "parse_chat_request"]

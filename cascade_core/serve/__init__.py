"""The OpenAI-compatible cascade endpoint (`python -m cascade_core serve`): the app (routes in app.py, the chat
handler in chat.py, startup and shutdown in lifespan.py), validation, auth, metrics and the run log's writer."""

from cascade_core.serve.app import ServeSettings, create_app
from cascade_core.serve.auth import TOKEN_ENV
from cascade_core.serve.counters import Metrics
from cascade_core.serve.log_writer import LogWriter
from cascade_core.serve.validate import CascadeRequest, parse_chat_request
from cascade_core.wire.errors import ApiError

__all__ = ["TOKEN_ENV", "ApiError", "CascadeRequest", "LogWriter", "Metrics", "ServeSettings", "create_app",
           "parse_chat_request"]

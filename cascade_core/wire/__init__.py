"""The OpenAI wire format shared by `serve` and the simulator: request bodies, content parts, error bodies."""

from cascade_core.wire.chat import ROLES, ChatBody, decode_chat, message_text, parse_chat_body
from cascade_core.wire.errors import ApiError, error_body, error_response, read_json

__all__ = ["ROLES", "ApiError", "ChatBody", "decode_chat", "error_body", "error_response", "message_text",
           "parse_chat_body", "read_json"]

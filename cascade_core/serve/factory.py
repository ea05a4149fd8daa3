"""Build the app from an environment variable, so `uvicorn --workers N` can start it in every worker process.

The spec holds the validated config and the settings, never a secret: the bearer token and API keys are read
from their own environment variables inside each worker.
"""

from __future__ import annotations

import json
import os
from typing import Any

from fastapi import FastAPI

from cascade_core.cascade.config import CascadeConfig, validate_config
from cascade_core.serve.app import ServeSettings, create_app
from cascade_core.serve.auth import token_from_env
from cascade_core.serve.validate import MAX_BODY_BYTES

SPEC_ENV = "CASCADE_SERVE_SPEC"


def dump_spec(config: CascadeConfig, settings: ServeSettings, token_env: str) -> str:
    return json.dumps({
        "config": config.model_dump(),
        "model_name": settings.model_name,
        "token_env": token_env,
        "flush_interval": settings.flush_interval,
        "batch_size": settings.batch_size,
        "max_body_bytes": settings.max_body_bytes,
        "max_backlog": settings.max_backlog,
        "log_before_answer": settings.log_before_answer,
        "log_wait": settings.log_wait,
        "graceful_timeout": settings.graceful_timeout,
    })


def app_from_env() -> FastAPI:
    spec: dict[str, Any] = json.loads(os.environ[SPEC_ENV])
    config = validate_config(spec["config"], source=SPEC_ENV)
    settings = ServeSettings(model_name=spec["model_name"],
                             token=token_from_env(spec["token_env"]), flush_interval=spec["flush_interval"],
                             batch_size=spec["batch_size"],
                             max_body_bytes=spec.get("max_body_bytes", MAX_BODY_BYTES),
                             max_backlog=spec.get("max_backlog", 10_000),
                             log_before_answer=spec.get("log_before_answer", False),
                             log_wait=spec.get("log_wait", 10.0), graceful_timeout=spec.get("graceful_timeout"))
    return create_app(config, settings)

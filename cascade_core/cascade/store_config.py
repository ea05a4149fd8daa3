"""The `[store]` table of cascade.toml: which engine holds the run log.

    [store]                       # omitted: backend = "duckdb", the embedded file at store_path
    backend = "ducklake"          # many writers: catalog in PostgreSQL, data files under data_path
    dsn_env = "CASCADE_PG_DSN"    # or dsn = "host=... dbname=... user=..." plus password_env = "PGPASSWORD_VAR"
    data_path_env = "CASCADE_LAKE_PATH"   # or data_path = "/shared/lake"

Secrets never live in the file: a literal `dsn` with a password is refused; the password comes from the
variable named by `password_env` (or the whole DSN from `dsn_env`).
"""

from __future__ import annotations

import os
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cascade_core.cascade.env_names import check_env_name

StoreBackend = Literal["duckdb", "ducklake"]
LakeCatalog = Literal["postgres", "sqlite"]

_PASSWORD = re.compile(r"(?i)\bpassword\s*=|://[^/@\s]*:[^/@\s]*@")


def _env_value(field: str, name: str) -> str:
    """The value of the environment variable `name` that `field` names, read now; an error when it is unset."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ValueError(f"store.{field}: environment variable {name} is not set")
    return value


class StoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: StoreBackend = "duckdb"
    catalog: LakeCatalog = "postgres"  # ducklake: where the catalog lives (sqlite: one machine only)
    dsn: str | None = None  # libpq keywords without a password, e.g. "host=db dbname=lake user=cascade"
    dsn_env: str | None = None  # or: the variable holding the whole DSN
    password_env: str | None = None  # the variable holding the password, added to `dsn`
    catalog_path: str | None = None  # sqlite catalog file
    data_path: str | None = None  # the lake's data files (a shared folder, or s3://... with httpfs)
    data_path_env: str | None = None
    inline_rows: int = Field(default=100, ge=0, description="inserts of at most this many rows stay in the "
                             "catalog until maintenance writes them out as one file (data inlining; PostgreSQL "
                             "catalogs only: a SQLite catalog gets none, see LakeTarget.inlined_rows)")
    maintenance_every: float = Field(default=60.0, ge=0, description="seconds between scheduled maintenance "
                                     "runs in long-lived processes (0: off)")
    keep_snapshots: float = Field(default=3600.0, ge=0, description="seconds of snapshots (time travel) kept")
    synchronous_commit: bool = Field(default=True, description="postgres catalog: false makes the catalog "
                                     "session commit asynchronously (COMMIT does not wait for PostgreSQL's WAL "
                                     "flush): faster commits, but a crash of the PostgreSQL server itself can lose "
                                     "the last ~0.6 s of commits (never corrupt the lake)")

    @field_validator("dsn_env", "password_env", "data_path_env")
    @classmethod
    def _names(cls, value: str | None) -> str | None:
        return check_env_name(value)

    @field_validator("dsn")
    @classmethod
    def _no_password(cls, value: str | None) -> str | None:
        if value is not None and _PASSWORD.search(value):
            raise ValueError("must not carry a password; name the variable holding it with password_env "
                             "(or put the whole DSN in a variable named by dsn_env)")
        return value

    @model_validator(mode="after")
    def _complete(self) -> StoreConfig:
        if self.backend != "ducklake":
            return self
        if self.catalog == "postgres" and not (self.dsn or self.dsn_env):
            raise ValueError("backend 'ducklake' with catalog 'postgres' needs dsn or dsn_env")
        if self.catalog == "sqlite" and not self.catalog_path:
            raise ValueError("catalog 'sqlite' needs catalog_path")
        if not (self.data_path or self.data_path_env):
            raise ValueError("backend 'ducklake' needs data_path or data_path_env")
        return self

    def resolved_dsn(self) -> str:
        """The PostgreSQL DSN with its password, read from the environment now (never stored)."""
        if self.dsn_env:
            return _env_value("dsn_env", self.dsn_env)
        dsn = self.dsn or ""
        if self.password_env:
            password = os.environ.get(self.password_env)
            if password is None:
                raise ValueError(f"store.password_env: environment variable {self.password_env} is not set")
            dsn += " password='" + password.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return dsn

    def resolved_data_path(self) -> str:
        if self.data_path_env:
            return _env_value("data_path_env", self.data_path_env)
        return self.data_path or ""

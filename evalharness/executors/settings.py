"""The `executor:` section of a config: where the cells of a run are translated and scored."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from evalharness.configtypes import Strict


class ExecutorConfig(Strict):
    """`local` (the default): everything in this process and its worker processes. `ray`: translation shards go
    to model actors and scoring chunks to tasks on a Ray cluster; the driver keeps the caches and the results."""

    kind: Literal["local", "ray"] = "local"
    address: str | None = Field(
        default=None,
        description="ray: none starts Ray on this machine; 'auto' or 'ray://host:port' (or host:port) joins a cluster",
    )
    shard_size: int = Field(strict=True, default=64, ge=1, description="ray: segments per unit of translation work")
    max_retries: int = Field(strict=True, default=3, ge=0, description="ray: retries of a shard whose worker died")
    connect_timeout: float = Field(
        default=10, gt=0, description="ray with address: seconds to wait for the cluster to answer before giving up"
    )
    num_cpus: int | None = Field(
        strict=True, default=None, ge=1, description="ray without address: CPUs of the local instance (default: all)"
    )

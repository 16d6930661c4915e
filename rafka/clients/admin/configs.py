"""Config administration: describe, replace (legacy AlterConfigs) and change
(IncrementalAlterConfigs) the configs of topics, brokers and broker loggers.

A broker's own resource (``ConfigResource.broker(1)``, ``broker_logger(1)``) is answered by
that broker; everything else (topics, the cluster-wide broker defaults ``broker("")``) by any
broker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, overload

from rafka.clients.admin.base import AdminBase, unique
from rafka.clients.admin.lookups import fixed_nodes
from rafka.clients.admin.results import ConfigEntry, ConfigSynonym, Results
from rafka.clients.admin.routing import Answer, Deadline, classify
from rafka.clients.admin.types import (
    AlterConfigOp,
    ConfigResource,
    ConfigSource,
    ConfigType,
)
from rafka.protocol import messages as m

__all__ = ["ConfigsMixin"]

DESCRIBE_CONFIGS = 32
ALTER_CONFIGS = 33
INCREMENTAL_ALTER_CONFIGS = 44

Changes = Sequence[AlterConfigOp] | Mapping[str, object]


def _member(cls: type[Any], code: int) -> Any:
    try:
        return cls(code)
    except ValueError:
        return cls(0)  # UNKNOWN


def _entry(c: m.DescribeConfigsResponse.DescribeConfigsResourceResult) -> ConfigEntry:
    return ConfigEntry(
        c.name,
        c.value,
        _member(ConfigSource, c.config_source),
        is_read_only=c.read_only,
        is_sensitive=c.is_sensitive,
        synonyms=tuple(
            ConfigSynonym(s.name, s.value, _member(ConfigSource, s.source)) for s in c.synonyms
        ),
        type=_member(ConfigType, c.config_type),
        documentation=c.documentation,
    )


def _key(resource_type: int, name: str) -> tuple[int, str]:
    return int(resource_type), name


def _ops(changes: Changes) -> list[AlterConfigOp]:
    """A list of :class:`AlterConfigOp`, or ``{name: value}`` meaning SET (None: DELETE)."""
    if isinstance(changes, Mapping):
        return [
            AlterConfigOp.delete(name) if value is None else AlterConfigOp.set(name, value)
            for name, value in changes.items()
        ]
    ops = list(changes)
    for op in ops:
        if not isinstance(op, AlterConfigOp):
            raise TypeError(f"incremental_alter_configs takes AlterConfigOp items, not {op!r}")
    return ops


class ConfigsMixin(AdminBase):
    """Config operations of :class:`~rafka.clients.admin.AsyncAdmin`."""

    @overload
    async def describe_configs(
        self,
        resources: ConfigResource,
        *,
        include_synonyms: bool = False,
        include_documentation: bool = False,
        timeout: float | None = None,
    ) -> dict[str, ConfigEntry]: ...

    @overload
    async def describe_configs(
        self,
        resources: Iterable[ConfigResource],
        *,
        include_synonyms: bool = False,
        include_documentation: bool = False,
        timeout: float | None = None,
    ) -> Results[ConfigResource, dict[str, ConfigEntry]]: ...

    async def describe_configs(
        self,
        resources: ConfigResource | Iterable[ConfigResource],
        *,
        include_synonyms: bool = False,
        include_documentation: bool = False,
        timeout: float | None = None,
    ) -> dict[str, ConfigEntry] | Results[ConfigResource, dict[str, ConfigEntry]]:
        """Every config of each resource, by name, with value, source and flags
        (:class:`ConfigEntry`); ``include_synonyms`` adds the settings each value could come
        from, in order of precedence. An unknown topic fails with
        :class:`~rafka.errors.UnknownTopicOrPartitionError`."""
        single = isinstance(resources, ConfigResource)
        keys: list[ConfigResource] = unique(
            [resources] if single else list(resources)  # type: ignore[list-item, arg-type]
        )
        router = self._router

        async def fulfil(
            node: int, batch: list[ConfigResource], deadline: Deadline
        ) -> Answer[ConfigResource, dict[str, ConfigEntry]]:
            request = m.DescribeConfigsRequest(
                resources=[
                    m.DescribeConfigsRequest.DescribeConfigsResource(
                        resource_type=int(r.type), resource_name=r.name, configuration_keys=None
                    )
                    for r in batch
                ],
                include_synonyms=include_synonyms,
                include_documentation=include_documentation,
            )
            response = await router.send(node, DESCRIBE_CONFIGS, lambda v: request, deadline)
            assert isinstance(response, m.DescribeConfigsResponse)
            by_key = {_key(r.type, r.name): r for r in batch}
            answer: Answer[ConfigResource, dict[str, ConfigEntry]] = Answer()
            for result in response.results:
                resource = by_key.get(_key(result.resource_type, result.resource_name))
                if resource is None:
                    continue
                if result.error_code:
                    classify(answer, resource, result.error_code, result.error_message)
                else:
                    answer.done[resource] = {c.name: _entry(c) for c in result.configs}
            return answer

        return await self._each(  # type: ignore[no-any-return]
            "describe_configs",
            keys,
            single,
            fixed_nodes(router, lambda r: r.broker_id),
            fulfil,
            timeout,
        )

    async def alter_configs(
        self,
        configs: Mapping[ConfigResource, Mapping[str, object]],
        *,
        validate_only: bool = False,
        timeout: float | None = None,
    ) -> Results[ConfigResource, None]:
        """Kafka's legacy AlterConfigs: each resource's dynamic configs become exactly the
        ones given (configs left out revert to their defaults). Prefer
        :meth:`incremental_alter_configs`, which changes only what it names."""
        wanted = {
            resource: {name: str(value) for name, value in values.items()}
            for resource, values in configs.items()
        }
        router = self._router

        async def fulfil(
            node: int, batch: list[ConfigResource], deadline: Deadline
        ) -> Answer[ConfigResource, None]:
            request = m.AlterConfigsRequest(
                resources=[
                    m.AlterConfigsRequest.AlterConfigsResource(
                        resource_type=int(r.type),
                        resource_name=r.name,
                        configs=[
                            m.AlterConfigsRequest.AlterableConfig(name=name, value=value)
                            for name, value in wanted[r].items()
                        ],
                    )
                    for r in batch
                ],
                validate_only=validate_only,
            )
            response = await router.send(node, ALTER_CONFIGS, lambda v: request, deadline)
            assert isinstance(response, m.AlterConfigsResponse)
            return _altered(batch, response.responses)

        return await self._each(  # type: ignore[no-any-return]
            "alter_configs",
            list(wanted),
            False,
            fixed_nodes(router, lambda r: r.broker_id),
            fulfil,
            timeout,
        )

    async def incremental_alter_configs(
        self,
        changes: Mapping[ConfigResource, Changes],
        *,
        validate_only: bool = False,
        timeout: float | None = None,
    ) -> Results[ConfigResource, None]:
        """Change some configs of each resource and keep the rest.

        ``changes`` maps a resource to :class:`AlterConfigOp` items (SET, DELETE to revert to
        the default, APPEND / SUBTRACT list items), or to ``{name: value}`` meaning SET, with
        None meaning DELETE::

            await admin.incremental_alter_configs({
                ConfigResource.topic("orders"): {"retention.ms": 3600000},
                ConfigResource.broker(1): [AlterConfigOp.append("log.cleaner.threads", 2)],
            })
        """
        wanted = {resource: _ops(ops) for resource, ops in changes.items()}
        router = self._router

        async def fulfil(
            node: int, batch: list[ConfigResource], deadline: Deadline
        ) -> Answer[ConfigResource, None]:
            request = m.IncrementalAlterConfigsRequest(
                resources=[
                    m.IncrementalAlterConfigsRequest.AlterConfigsResource(
                        resource_type=int(r.type),
                        resource_name=r.name,
                        configs=[
                            m.IncrementalAlterConfigsRequest.AlterableConfig(
                                name=op.name, config_operation=int(op.op), value=op.value
                            )
                            for op in wanted[r]
                        ],
                    )
                    for r in batch
                ],
                validate_only=validate_only,
            )
            response = await router.send(
                node, INCREMENTAL_ALTER_CONFIGS, lambda v: request, deadline
            )
            assert isinstance(response, m.IncrementalAlterConfigsResponse)
            return _altered(batch, response.responses)

        return await self._each(  # type: ignore[no-any-return]
            "incremental_alter_configs",
            list(wanted),
            False,
            fixed_nodes(router, lambda r: r.broker_id),
            fulfil,
            timeout,
        )


def _altered(
    batch: list[ConfigResource],
    results: Iterable[
        m.AlterConfigsResponse.AlterConfigsResourceResponse
        | m.IncrementalAlterConfigsResponse.AlterConfigsResourceResponse
    ],
) -> Answer[ConfigResource, None]:
    by_key = {_key(r.type, r.name): r for r in batch}
    answer: Answer[ConfigResource, None] = Answer()
    for result in results:
        resource = by_key.get(_key(result.resource_type, result.resource_name))
        if resource is None:
            continue
        if result.error_code:
            classify(answer, resource, result.error_code, result.error_message)
        else:
            answer.done[resource] = None
    return answer

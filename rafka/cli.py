"""The ``rafka`` command line.

    rafka serve [--port 9092] [--brokers N] [--data-dir DIR] [--config key=value ...]

starts a cluster listening on 127.0.0.1, prints its bootstrap servers, and runs until Ctrl-C
(SIGINT) or SIGTERM, then stops cleanly (in-flight requests finish, logs are flushed).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Any

import anyio

from rafka.errors import RafkaError


def _parse_config(items: list[str]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"--config takes key=value, got {item!r}")
        config[name.strip()] = value.strip()
    return config


async def _serve(args: argparse.Namespace) -> None:
    from rafka.embedded import AsyncCluster

    cluster = AsyncCluster(
        args.brokers,
        data_dir=args.data_dir,
        listen=True,
        host=args.host,
        port=args.port,
        config=_parse_config(args.config),
    )
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with cluster:
            print(
                f"rafka {cluster.cluster_id}: listening on {cluster.bootstrap_servers}", flush=True
            )
            async for _ in signals:
                print("rafka: stopping", flush=True)
                break


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rafka", description="Apache Kafka as a Python library")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run a cluster that real Kafka clients can use")
    serve.add_argument("--port", type=int, default=9092, help="first broker's port (0: any)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--brokers", type=int, default=1, help="number of brokers")
    serve.add_argument("--data-dir", default=None, help="keep data on disk here")
    serve.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a broker property by Kafka's name (repeatable)",
    )
    serve.add_argument("--log-level", default="WARNING", help="Python logging level")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        anyio.run(_serve, args)
    except RafkaError as exc:
        print(f"rafka: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"rafka: cannot listen: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

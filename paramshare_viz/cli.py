"""Command line: ``paramshare-viz dashboard | inspect | bench``.

Each subcommand is one ``_add_<name>(subparsers)`` function that registers its
arguments and a ``func`` to run; the work itself lives in the package.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _add_dashboard(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help="serve the Voila dashboard")
    p.add_argument("--port", type=int, default=8866, help="port to serve on (default 8866)")
    p.add_argument("--ip", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--notebook", help="notebook to serve (default: the packaged dashboard)")

    def run(args: argparse.Namespace) -> int:
        from paramshare_viz.app.serve import serve

        return serve(port=args.port, ip=args.ip, open_browser=not args.no_browser, notebook=args.notebook)

    p.set_defaults(func=run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paramshare-viz", description="Explore parameter sharing in neural networks."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_dashboard(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as err:  # bad user input: one plain line, no traceback
        print(f"paramshare-viz {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

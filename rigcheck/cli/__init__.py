"""The rigcheck command: a thin layer that parses, calls the library and renders.

Each subcommand lives in its own module here with ``register(subparsers)`` and
``run(args) -> int``. Library errors become one line and exit status 2 here, and
nowhere else; set RIGCHECK_DEBUG=1 to see the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ..errors import InputError, RigcheckError

# subcommand modules, in the order `rigcheck --help` lists them
COMMANDS = ["check", "tiers", "info", "models", "size", "builds", "memory", "estimate",
            "rigs", "rig", "bench", "plan", "serve"]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str):  # noqa: D401
        from ..text import one_line     # the message echoes what was typed: escaped, cut (issue 14)
        self.exit(2, f"{self.prog}: error: {one_line(message, 500)} (see '{self.prog} --help')\n")


class Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def build_parser() -> tuple[Parser, dict]:
    parser = Parser(
        prog="rigcheck",
        formatter_class=Formatter,
        description="The hardware reality check for local LLMs: will this model run on this machine, "
                    "in which build, with how much memory, how fast, and with which command.",
        epilog="Examples:\n"
               "  rigcheck check deepseek-v4-flash --rig rtx-5090+128GB\n"
               "  rigcheck tiers deepseek-v4-flash\n"
               "  rigcheck info qwen3-30b-a3b --json\n"
               "  rigcheck size deepseek-v4-flash --build Q4_K_M\n"
               "  rigcheck                      # this machine and what runs well on it\n",
    )
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"rigcheck {__version__}")
    parser.add_argument("--offline", dest="offline_all", action="store_true",
                        help="never reach the Hugging Face Hub: rigcheck's Hub cache and the bundled catalogue only "
                             "(as HF_HUB_OFFLINE=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    runners = {}
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:
            if e.name and e.name.endswith(f"cli.{name}"):
                continue  # command not written yet
            raise
        p = mod.register(sub)
        p.formatter_class = Formatter
        runners[name] = mod.run
    return parser, runners


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser, runners = build_parser()
    if not argv and "home" in runners:
        argv = ["home"]
    args = parser.parse_args(argv)
    if getattr(args, "offline_all", False) or getattr(args, "offline", False):
        os.environ["HF_HUB_OFFLINE"] = "1"
    if not args.command:
        if "check" in runners:
            args = parser.parse_args(["check"])
        else:
            parser.print_help()
            return 0
    try:
        return runners[args.command](args) or 0
    except (InputError, RigcheckError) as e:
        if os.environ.get("RIGCHECK_DEBUG"):
            raise
        print(f"rigcheck: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rigcheck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # a bug in rigcheck, not in the input: say so in one line
        if os.environ.get("RIGCHECK_DEBUG"):
            raise
        from ..text import one_line
        print(f"rigcheck: internal error: {type(e).__name__}: {one_line(e)} (run again with RIGCHECK_DEBUG=1 "
              "for the traceback, and please report it)", file=sys.stderr)
        return 1


def emit_json(obj) -> None:
    """Print a report object as JSON (dataclasses and enums handled)."""
    from ..report.jsonout import dumps
    print(dumps(obj))

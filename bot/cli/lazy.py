"""Commands whose module is imported only when the command runs, so start-up pays for what it uses.

``LazyGroup`` is the CLI's typer group class: its ``lazy`` table maps a command name to
``"module:function"``. ``paperdesk --help`` lists such a command with the function's docstring,
read from the module's source with ``ast`` (nothing imported); running it, or asking for its own
``--help``, imports the module and hands the arguments to the command typer builds from the
function, so options, help and errors are exactly those of an eagerly registered command.

Every command this group holds or loads shows no type for a flag in its help (typer 0.29 prints
``<bool>`` beside ``--json`` and ``--help``, as if they took a value): ``typeless_flags``.

Failure contract: a docstring that cannot be read from the source falls back to importing the
module (slower, never wrong); an unknown target raises ``ImportError`` / ``AttributeError``.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import typer
from typer._click import Context
from typer.core import TyperCommand, TyperGroup, TyperOption

if TYPE_CHECKING:
    from typer._click import Command, HelpFormatter  # typer's own click, the types its classes use


def docstring(target: str) -> str | None:
    """The cleaned docstring of ``module:function``, from the source when possible."""
    module, _, name = target.partition(":")
    spec = importlib.util.find_spec(module)
    if spec is not None and spec.origin is not None and spec.origin.endswith(".py"):
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                return ast.get_docstring(node)
    return inspect.getdoc(getattr(importlib.import_module(module), name))


def typeless_flags(command: Command) -> Command:
    """``command`` (and its subcommands) with an empty type column for flags, ``--help`` included."""
    if not isinstance(command, LazyCommand):
        help_option = command.get_help_option(Context(command))  # made now (and cached) so it is marked too
        for param in [*command.params, help_option]:
            if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
                param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        typeless_flags(sub)
    return command


class LazyCommand(TyperCommand):
    """A listed command; the real one is built from its function on first use."""

    def __init__(self, name: str, target: str) -> None:
        super().__init__(name, callback=None)
        self.target = target

    def load(self) -> Command:
        """The command typer builds from the target function (importing its module)."""
        module, _, function = self.target.partition(":")
        single = typer.Typer(add_completion=False)
        single.command(name=self.name)(getattr(importlib.import_module(module), function))
        return typeless_flags(typer.main.get_command(single))

    def make_context(self, info_name: str | None, args: list[str], parent: Context | None = None,
                     **extra: Any) -> Context:
        """Parse with the real command: the context it returns runs it."""
        return self.load().make_context(info_name, args, parent=parent, **extra)


class LazyGroup(TyperGroup):
    """A typer group that lists its ``lazy`` commands first, in table order, and imports none of them."""

    lazy: ClassVar[dict[str, str]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        typeless_flags(self)
        eager = dict(self.commands)
        self.commands = {name: LazyCommand(name, target) for name, target in self.lazy.items()}
        self.commands.update(eager)

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        """Fill in the lazy commands' help (only the listing needs it), then format as typer does."""
        for command in self.commands.values():
            if isinstance(command, LazyCommand) and command.help is None:
                command.help = docstring(command.target)
        super().format_help(ctx, formatter)

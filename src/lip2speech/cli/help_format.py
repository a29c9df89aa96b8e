"""Help-text conventions of the CLI: arguments as NAME in usage lines, and no type label on on/off flags."""

from __future__ import annotations

from typing import Any

from typer import core as _core


def _usage_display_name(self: Any) -> str:
    name = str(self.metavar or self.name).upper()
    name = name if self.required else f"[{name}]"
    return name if self.nargs == 1 or name.endswith("...") else name + "..."


def _flag_aware(display: Any) -> Any:
    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return None if getattr(self, "is_flag", False) else display(self, ctx)
    return display_type_rich


def apply() -> None:
    """Patch Typer's help formatting (a version without these hooks keeps its own)."""
    if hasattr(_core.TyperArgument, "_usage_display_name"):
        _core.TyperArgument._usage_display_name = _usage_display_name
    if hasattr(_core.TyperOption, "display_type_rich"):
        _core.TyperOption.display_type_rich = _flag_aware(_core.TyperOption.display_type_rich)

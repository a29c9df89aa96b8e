"""The report's page builder: HTML body and Markdown text side by side (report.py, report_front.py)."""

from __future__ import annotations

import base64
import html
import io
import math
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    esc = lambda c: str(c).replace("|", "\\|")  # noqa: E731
    out = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _wav_bytes(wav: np.ndarray, fs: int) -> bytes:
    import soundfile as sf

    from ..audio.io import playback_level

    buf = io.BytesIO()
    sf.write(buf, playback_level(wav), int(fs), format="WAV", subtype="PCM_16")
    return buf.getvalue()


def slug(text: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def inline(text: str) -> str:
    """Escaped HTML of a sentence, its `backticked` spans as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


class _Page:
    """Accumulates the HTML body and the Markdown text, saving Markdown assets beside it."""

    def __init__(self, assets: Path, assets_rel: str) -> None:
        self.html: list[str] = []
        self.md: list[str] = []
        self.assets, self.assets_rel = assets, assets_rel
        self.n = 0
        self.sections: list[tuple[str, str]] = []  # (title, anchor) of every level-2 heading, for the contents

    def heading(self, text: str, level: int = 2) -> None:
        anchor = slug(text)
        taken = {a for _, a in self.sections}
        if level == 2:
            anchor = next(f"{anchor}-{i}" if i else anchor for i in range(len(taken) + 1)
                          if (f"{anchor}-{i}" if i else anchor) not in taken)
            self.sections.append((text, anchor))
        self.html.append(f'<h{level} id="{html.escape(anchor)}">{html.escape(text)}</h{level}>')
        self.md.append(f"\n{'#' * level} {text}\n")

    def links(self, items: Sequence[tuple[str, str]]) -> None:
        """A bulleted list of links within the page: (text, anchor)."""
        self.html.append("<ul class=\"toc\">" + "".join(f'<li><a href="#{html.escape(a)}">{html.escape(t)}</a></li>'
                                                       for t, a in items) + "</ul>")
        self.md.append("\n".join(f"- [{t}](#{a})" for t, a in items) + "\n")

    def terms(self, items: Sequence[tuple[str, str]]) -> None:
        """A glossary: (term, definition)."""
        self.html.append('<dl class="glossary">' + "".join(f"<dt>{html.escape(t)}</dt><dd>{inline(d)}</dd>"
                                                           for t, d in items) + "</dl>")
        self.md.append("\n".join(f"- **{t}**: {d}" for t, d in items) + "\n")

    def para(self, text: str, cls: str | None = None) -> None:
        self.html.append(f'<p class="{cls}">{inline(text)}</p>' if cls else f"<p>{inline(text)}</p>")
        self.md.append(f"**{text}**\n" if cls == "headline" else f"{text}\n")

    def note(self, text: str) -> None:
        self.html.append(f'<p class="note">{inline(text)}</p>')
        self.md.append(f"*{text}*\n")

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "results") -> None:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
        self.html.append(f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')
        self.md.append(markdown_table(header, rows) + "\n")

    def _asset(self, suffix: str, data: bytes) -> str:
        self.n += 1
        name = f"{self.n:03d}{suffix}"
        self.assets.mkdir(parents=True, exist_ok=True)
        (self.assets / name).write_bytes(data)
        return f"{self.assets_rel}/{name}"

    def image(self, png: bytes, alt: str) -> None:
        self.html.append(f'<figure><img alt="{html.escape(alt)}" src="{_data_uri("image/png", png)}">'
                         f"<figcaption>{html.escape(alt)}</figcaption></figure>")
        self.md.append(f"![{alt}]({self._asset('.png', png)})\n")

    def media(self, items: Sequence[tuple[str, str, bytes]]) -> None:
        """Labelled players: (label, 'audio'|'video', bytes) — WAV audio or MP4 video."""
        cells, md = [], []
        for label, kind, data in items:
            mime, suffix = ("audio/wav", ".wav") if kind == "audio" else ("video/mp4", ".mp4")
            extra = ' width="320"' if kind == "video" else ""
            cells.append(f'<div class="player"><div>{html.escape(label)}</div>'
                         f'<{kind} controls preload="none"{extra} src="{_data_uri(mime, data)}"></{kind}></div>')
            md.append(f"[{label}]({self._asset(suffix, data)})")
        self.html.append('<div class="players">' + "".join(cells) + "</div>")
        self.md.append(" · ".join(md) + "\n")


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.85em}th,td{border:1px solid #ccc;padding:3px 6px;
text-align:right}th{background:#f2f2f2}td:first-child,td:nth-child(2){text-align:left}
figure{margin:1em 0}img{max-width:100%}figcaption{font-size:0.8em;color:#555}
.players{display:flex;flex-wrap:wrap;gap:1em}.player{font-size:0.8em}.note{color:#555;font-size:0.9em}
.headline{font-size:1.1em;background:#eef5ee;border-left:4px solid #4a4;padding:0.5em 1em}
dl.glossary{display:grid;grid-template-columns:max-content 1fr;gap:2px 1em;font-size:0.85em}
dl.glossary dt{font-weight:600}dl.glossary dd{margin:0}.toc{columns:2;font-size:0.9em}"""


def fmt(value: Any, digits: int = 3) -> str:
    """A number with `digits` decimals; '–' for missing or NaN."""
    if value is None:
        return "–"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return "–" if not math.isfinite(v) else f"{v:.{digits}f}"


def _stat(row: dict[str, Any], metric: str, field: str = "mean") -> Any:
    return (row.get("metrics", {}).get(metric) or {}).get(field)


def fmt_signed(value: Any, digits: int = 3) -> str:
    """A number with its sign (+0.142); '–' for missing or NaN."""
    text = fmt(value, digits)
    return text if text == "–" or text.startswith("-") else f"+{text}"

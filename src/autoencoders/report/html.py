"""A one-page HTML report of a run: text, metrics, settings and figures.

The page has inline CSS and no scripts or external resources; figures are linked by
paths relative to the report, so a run directory can be moved or zipped as a whole.
"""

from __future__ import annotations

import json
import numbers
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote


@dataclass
class Section:
    """One titled part of the report; empty parts are left out of the page."""

    title: str
    text: str = ""
    metrics: dict[str, float | int | str] = field(default_factory=dict)
    settings: dict[str, object] = field(default_factory=dict)
    figures: list[tuple[str, str]] = field(default_factory=list)  # (caption, relative path)


def write_report(
    path: str | Path, title: str, sections: list[Section], *, subtitle: str = ""
) -> Path:
    """Write the report to ``path`` atomically, so a reader never sees half a page."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page = _page(title, subtitle, [_section(s, i, path.parent) for i, s in enumerate(sections)])
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(page)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a report is meant to be read
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _metric_text(value: float | int | str) -> str:
    """Floats (NumPy's too) with 4 significant digits; integers and text as they are."""
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return f"{float(value):.4g}"
    return str(value)


def _setting_text(value: object) -> str:
    """Settings as JSON (lists, numbers, null), text without quotes."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=_plain)


def _plain(value: object) -> object:
    """NumPy scalars and arrays as Python numbers and lists; anything else as text."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def _section(section: Section, index: int, report_folder: Path) -> str:
    """One section's HTML; empty text, tables and figure lists are left out."""
    parts = [f'<section id="section-{index + 1}">', f"<h2>{escape(section.title)}</h2>"]
    if section.text:
        parts.append(f"<p>{escape(section.text)}</p>")
    for caption, image in section.figures:  # pictures first: they are what readers look at
        source = escape(quote(_relative(image, report_folder), safe="/"))
        parts.append(
            f'<figure><img src="{source}" alt="{escape(caption)}" loading="lazy">'
            f"<figcaption>{escape(caption)}</figcaption></figure>"
        )
    if section.metrics:
        parts.append(_table("Metrics", section.metrics, _metric_text, align_numbers=True))
    if section.settings:
        parts.append(_table("Settings", section.settings, _setting_text, align_numbers=False))
    parts.append("</section>")
    return "\n".join(parts)


def _relative(image: str | Path, report_folder: Path) -> str:
    """The image path as seen from the report, with forward slashes for the browser."""
    image = Path(image)
    if image.is_absolute():
        image = Path(os.path.relpath(image, report_folder))
    return image.as_posix()


def _table(
    caption: str, values: dict[str, Any], to_text: Callable[[Any], str], *, align_numbers: bool
) -> str:
    """A two-column table; numbers may be right-aligned so their digits line up."""
    rows = []
    for key, value in values.items():
        number = isinstance(value, numbers.Number) and not isinstance(value, bool)
        cell = '<td class="number">' if number and align_numbers else "<td>"
        rows.append(
            f'<tr><th scope="row">{escape(str(key))}</th>{cell}{escape(to_text(value))}</td></tr>'
        )
    return f"<table><caption>{escape(caption)}</caption>\n" + "\n".join(rows) + "\n</table>"


def _page(title: str, subtitle: str, sections: list[str]) -> str:
    """The whole document around the sections, with when and by what it was made."""
    generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    footer = f"Generated {escape(generated)}"
    version = _package_version()
    if version:
        footer += f" by autoencoders {escape(version)}"
    subtitle_html = f'<p class="subtitle">{escape(subtitle)}</p>' if subtitle else ""
    body = "\n".join(sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<header><h1>{escape(title)}</h1>{subtitle_html}</header>
<main>
{body}
</main>
<footer>{footer}</footer>
</body>
</html>
"""


def _package_version() -> str | None:
    """The package version, or None while the package is only partly importable."""
    try:
        from autoencoders import __version__
    except ImportError:
        return None
    return str(__version__)


_CSS = """
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --rule: #d1d9e0; }
body { margin: 0 auto; max-width: 60rem; padding: 2rem 1.25rem 3rem; color: var(--ink);
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #fff; }
h1 { font-size: 1.9rem; margin: 0 0 .25rem; }
h2 { font-size: 1.35rem; margin: 2.25rem 0 .75rem; padding-bottom: .3rem;
  border-bottom: 1px solid var(--rule); }
.subtitle { color: var(--muted); margin: 0; }
p { max-width: 42rem; }
table { border-collapse: collapse; margin: 1rem 0; min-width: 18rem; font-size: .95rem; }
caption { text-align: left; font-weight: 600; padding-bottom: .35rem; }
th, td { text-align: left; padding: .3rem .9rem .3rem 0; border-bottom: 1px solid var(--rule);
  vertical-align: top; }
th { font-weight: 500; color: var(--muted); }
td { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  overflow-wrap: anywhere; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5rem 0; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .9rem; margin-top: .4rem; }
footer { margin-top: 3rem; color: var(--muted); font-size: .85rem; }
"""

"""One way to write HTML pages: jinja2 templates shipped as package data, autoescaped.

Templates live in ``stairs_link/templates/`` (``<page>.html``, shared pieces in ``_*.html``),
so wording and layout can be changed without touching Python; :func:`render` fills one with
the values a page computed. Autoescaping is on for every template, so a value such as a
file name or a code from an export can never inject markup: pass plain text, and mark only
markup this package built itself (an inline SVG plot) with :class:`markupsafe.Markup`.
Example::

    html = render("check.html", title="Quality check", rows=rows)
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The package's template environment (built once): autoescape on, undefined names an
    error (a template naming a value the page does not pass fails loudly, not blank)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("stairs_link", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template_name: str, /, **context: Any) -> str:
    """``templates/<template_name>`` filled with ``context``."""
    return environment().get_template(template_name).render(**context)

"""stairs_link.templating: package templates, autoescaped, undefined names an error."""

from __future__ import annotations

import jinja2
import pytest

from stairs_link.templating import environment, render


def test_values_are_escaped_and_the_page_layout_renders() -> None:
    html = render("_page.html", title="<script>alert('x')</script> & co")
    assert html.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert "<script>" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in html


def test_a_name_the_page_does_not_pass_is_an_error_not_a_blank() -> None:
    with pytest.raises(jinja2.UndefinedError, match="title"):
        render("_page.html")


def test_autoescape_is_on_for_every_template() -> None:
    assert environment().from_string("{{ v }}").render(v="<b>") == "&lt;b&gt;"

"""Text from data on a page: shown literally, never interpreted as markup.

Panel's ``Str`` pane puts its text inside ``<pre>`` and lets the browser parse the result, so a
``<b>`` in an action's content would turn bold (and worse). :class:`Literal` escapes the text
first; :class:`Notice` is a literal message in a coloured box (an error from the server can
quote what a person typed).
"""

from __future__ import annotations

import html
from typing import Any

import panel as pn

__all__ = ["Literal", "Notice"]


_WRAP = "pre { white-space: pre-wrap; word-break: break-word; margin: 0; font-family: inherit; }"


class Literal(pn.pane.Str):
    """A ``Str`` pane whose text is shown exactly as it is (long lines wrap)."""

    def __init__(self, object: Any = None, **params: Any) -> None:
        params.setdefault("stylesheets", [_WRAP])
        super().__init__(object, **params)

    def _transform_object(self, obj: Any) -> dict[str, Any]:
        if obj is None or obj == "":
            return super()._transform_object(obj)
        return super()._transform_object(html.escape(str(obj)))


_STYLES = {
    "error": {"background": "#ffebe9", "border": "1px solid #ff818266", "color": "#82071e"},
    "success": {"background": "#dafbe1", "border": "1px solid #4ac26b66", "color": "#116329"},
    "info": {"background": "#ddf4ff", "border": "1px solid #54aeff66", "color": "#0a3069"},
    "warning": {"background": "#fff8c5", "border": "1px solid #d4a72c66", "color": "#7d4e00"},
}


class Notice(Literal):
    """``notice.show("text", "error")``; ``notice.hide()``."""

    def __init__(self, **params: Any) -> None:
        super().__init__("", visible=False, sizing_mode="stretch_width", **params)

    def show(self, text: str, kind: str = "info") -> None:
        self.styles = {
            **_STYLES[kind],
            "padding": "6px 10px",
            "border-radius": "6px",
            "white-space": "pre-wrap",
            "font-family": "inherit",
        }
        self.css_classes = ["orra-notice", f"orra-notice-{kind}"]
        self.object = text
        self.visible = True

    def hide(self) -> None:
        self.visible = False


def set_text(widget: Any, text: str) -> None:
    """Put ``text`` in a text field. Pages read ``value_input`` (it follows every keystroke;
    ``value`` only a field that lost focus), so code that fills a field sets both."""
    widget.param.update(value=text, value_input=text)

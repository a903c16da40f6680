"""Text from data on a page: shown literally, never interpreted as markup.

Panel's ``Str`` pane puts its text inside ``<pre>`` and lets the browser parse the result, so a
``<b>`` in an action's content would turn bold (and worse). :class:`Literal` escapes the text
first; :class:`Notice` is a literal message in a coloured box (an error from the server can
quote what a person typed).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any, TypeVar

import panel as pn

from ..errors import OrraError

__all__ = ["Literal", "Notice", "read_only_table"]

T = TypeVar("T")


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

    def answer(self, ask: Callable[[], T], what: str = "The control plane") -> T | None:
        """``ask()``'s answer, this notice hidden; or None, the notice saying that ``what``
        did not answer and why (a page then keeps what it showed)."""
        try:
            answered = ask()
        except OrraError as exc:
            self.show(f"{what} did not answer: {exc}", "error")
            return None
        self.hide()
        return answered


def read_only_table(value: Any, css_class: str, **params: Any) -> pn.widgets.Tabulator:
    """A table a person reads (no index, no editing) across the page's width."""
    params.setdefault("sizing_mode", "stretch_width")
    return pn.widgets.Tabulator(
        value, show_index=False, disabled=True, css_classes=[css_class], **params
    )


def set_text(widget: Any, text: str) -> None:
    """Put ``text`` in a text field. Pages read ``value_input`` (it follows every keystroke;
    ``value`` only a field that lost focus), so code that fills a field sets both."""
    widget.param.update(value=text, value_input=text)

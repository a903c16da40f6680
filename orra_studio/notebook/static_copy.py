"""Widgets that still show where no widget is drawn: a plain-HTML copy beside each.

A notebook saved with its widget state draws widgets only where their JavaScript loads:
nbconvert's HTML fetches it from a CDN, so offline (and on GitHub) a widget is blank. The copy
is an ordinary HTML output, kept up to date; the live widget carries a style rule that hides
copies, so where the widget draws, only the widget shows.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

__all__ = ["StaticCopy", "hider"]


#: a live widget carries this rule: where widgets are drawn, their static copies hide
_HIDE_STATIC = "<style>.orra-static { display: none; }</style>"


class StaticCopy:
    """A widget shown with a plain-HTML copy of itself beside it, kept up to date.

    A notebook saved with its widget state draws widgets only where their JavaScript loads:
    nbconvert's HTML fetches it from a CDN, so offline (and on GitHub) a widget is blank. The
    copy is an ordinary HTML output; the live widget carries a style rule that hides copies,
    so where the widget draws, only the widget shows."""

    _static: Any = None

    def static_html(self) -> str:
        raise NotImplementedError

    def _ipython_display_(self, **kwargs: Any) -> None:
        from IPython import get_ipython
        from IPython.display import HTML, display

        display(self._repr_mimebundle_(), raw=True)  # type: ignore[attr-defined]
        if getattr(get_ipython(), "kernel", None) is not None:  # a terminal shows no HTML
            self._static = display(HTML(self._static_block()), display_id=True)

    def refresh_static(self) -> None:
        """Draw the copy again (the run has moved on: it shows how it ended)."""
        if self._static is not None:
            from IPython.display import HTML

            self._static.update(HTML(self._static_block()))

    def _static_block(self) -> str:
        return f'<div class="orra-static">{self.static_html()}</div>'


def hider() -> w.HTML:
    """The hidden child of a live widget that carries the rule hiding static copies."""
    return w.HTML(_HIDE_STATIC, layout=w.Layout(display="none"))

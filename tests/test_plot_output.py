"""PlotOutput: what the page is sent for a figure, and plotly.js only when the page asks, once."""

from __future__ import annotations

import plotly.graph_objects as go

from paramshare_viz.app.plot_output import PLOTLY_JS, PlotOutput


def sent_messages(plot: PlotOutput) -> list[tuple[dict, list]]:
    """Record what ``plot`` sends to its front end (custom messages), instead of sending it."""
    sent: list[tuple[dict, list]] = []
    plot.send = lambda content, buffers=None: sent.append((content, buffers or []))  # type: ignore[method-assign]
    return sent


def bars(title: str) -> go.Figure:
    return go.Figure(go.Bar(x=["shared", "unshared twin"], y=[120, 1352]), layout={"title": {"text": title}})


def test_show_sends_the_figure_json_and_no_plotly_js():
    plot = PlotOutput(css_class="psv-x", min_height=300, placeholder="Measuring…")
    sent = sent_messages(plot)
    assert "psv-x" in plot._dom_classes and plot.layout.min_height == "300px"
    assert (plot.shown, plot.message) == (None, "Measuring…")
    plot.show(bars("one"))
    assert plot.shown["layout"]["title"]["text"] == "one" and list(plot.shown["data"][0]["y"]) == [120, 1352]
    plot.show(bars("two"))  # replaced in place
    assert plot.shown["layout"]["title"]["text"] == "two"
    assert sent == []  # figures are their JSON (a few kB); plotly.js goes out only when asked
    assert len(plot.spec) < 10_000


def test_a_waiting_plot_keeps_its_figure_until_release():
    plot = PlotOutput(wait=True)
    assert plot.message == "Drawing…"
    plot.show(bars("kept"))
    assert plot.shown is None and plot.figure is not None
    plot.release()
    assert plot.shown["layout"]["title"]["text"] == "kept"
    plot.placeholder("Nothing measured")  # after a failure: words, no figure
    assert (plot.shown, plot.message) == (None, "Nothing measured")


def test_plotly_js_goes_to_the_page_that_asks_as_the_installed_packages_file():
    first, second = PlotOutput(), PlotOutput()
    to_first, to_second = sent_messages(first), sent_messages(second)
    first.show(bars("a"))
    second.show(bars("b"))
    # plotly_view.js: the page's first figure view asks its widget once; every other figure awaits it
    first._handle_custom_msg({"type": "plotly.js?"}, [])
    assert [content for content, _ in to_first] == [{"type": "plotly.js"}]
    assert to_first[0][1] == [PLOTLY_JS.read_bytes()]  # plotly.min.js of the plotly that made the figures
    assert len(to_first[0][1][0]) > 1_000_000 and to_second == []

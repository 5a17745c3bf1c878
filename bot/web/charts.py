"""Dashboard charts as inline SVG drawn on the server with pygal: no JavaScript chart library,
no CDN (pygal's optional tooltip script, which it would load from the web, is switched off).

The pages' Content-Security-Policy allows no inline script and no inline style without the
response's nonce (bot/api/security_headers.py): the chart's own <style> gets the nonce, and the
little inline config script and style attribute pygal writes for its (absent) tooltip script go."""

import re
from collections.abc import Iterable

import pygal
from pygal.style import Style

STYLE = Style(
    font_family="Noto Sans CJK SC, Microsoft YaHei, sans-serif",
    background="white",
    plot_background="white",
    colors=("#1d3b5c", "#f9ab00", "#188038", "#d93025", "#5f6368", "#0b57d0"),
    title_font_size=20,
    label_font_size=15,
    major_label_font_size=15,
    legend_font_size=15,
)


def _config(chart: pygal.graph.graph.Graph, title: str) -> pygal.graph.graph.Graph:
    chart.config.js = []  # no script from the web
    chart.title = title
    return chart


INLINE_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S)


def _svg(chart: pygal.graph.graph.Graph, nonce: str) -> str:
    svg = str(chart.render(is_unicode=True, disable_xml_declaration=True))
    svg = INLINE_SCRIPT.sub("", svg)
    svg = svg.replace('style="opacity: 0"', 'opacity="0"')  # the same, as a presentation attribute
    return svg.replace("<style ", f'<style nonce="{nonce}" ')


def bars(title: str, labels: Iterable[str], series: dict[str, list[int]], *, nonce: str) -> str:
    chart = _config(
        pygal.Bar(style=STYLE, width=560, height=360, x_label_rotation=30, show_legend=len(series) > 1), title
    )
    chart.x_labels = list(labels)
    for name, values in series.items():
        chart.add(name, values)
    return _svg(chart, nonce)


def horizontal(title: str, items: list[tuple[str, int]], *, nonce: str) -> str:
    chart = _config(pygal.HorizontalBar(style=STYLE, width=560, height=360, show_legend=False), title)
    chart.x_labels = [label for label, _ in reversed(items)]
    chart.add("", [value for _, value in reversed(items)])
    return _svg(chart, nonce)


def pie(title: str, items: dict[str, int], *, nonce: str) -> str:
    chart = _config(pygal.Pie(style=STYLE, width=560, height=360, inner_radius=0.4), title)
    for label, value in items.items():
        chart.add(label, value)
    return _svg(chart, nonce)

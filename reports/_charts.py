"""Inline SVG charts: the tenant-by-tenant isolation heatmap and the performance charts.

Every label is redacted and escaped here, because the result is inserted into the page as
markup. Charts carry ``role="img"``, an ``aria-label`` and ``<title>`` tooltips, and never
rely on colour alone (cells and series also carry text).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from markupsafe import Markup

from reports._scoring import Matrix
from tenantprobe.redact import redact_text

PALETTE = ("#1f5fa8", "#c2410c", "#15803d", "#7e22ce", "#b45309", "#0e7490", "#be123c", "#4d7c0f")
MAX_LATENCY_TENANTS = 40
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _t(text: object) -> str:
    return html.escape(redact_text(str(text)), quote=True)


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks: list[float] = []
    value = start
    while not ticks or ticks[-1] < high:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.2g}"


def heatmap(matrix: Matrix) -> Markup:
    """Attackers as rows, victims as columns; green when every attempt was blocked, red with leaks."""
    n = len(matrix.tenants)
    cell = max(6, min(56, 560 // max(n, 1)))
    show_labels = cell >= 12  # below that, names would overlap: the tooltips still name each cell
    label_w = 24 + 7 * min(24, max((len(t) for t in matrix.tenants), default=4)) if show_labels else 24
    top = label_w + 16
    width, height = label_w + cell * n + label_w // 2 + 10, top + cell * n + 10
    leaks_total = sum(a - b for a, b in matrix.cells.values())
    label = (
        f"Isolation matrix of {n} tenants: {len(matrix.cells)} attacker-victim pairs tested, "
        f"{leaks_total} attempt(s) not blocked"
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart heatmap" role="img" aria-label="{_t(label)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" {FONT}>'
    ]
    parts.append(
        f'<text x="{label_w + cell * n / 2:.1f}" y="12" text-anchor="middle" font-weight="bold">victim →</text>'
        f'<text x="10" y="{top + cell * n / 2:.1f}" text-anchor="middle" font-weight="bold" '
        f'transform="rotate(-90 10 {top + cell * n / 2:.1f})">attacker →</text>'
    )
    for i, tenant in enumerate(matrix.tenants):
        name = _t(tenant[:24])
        y = top + i * cell + cell / 2 + 4
        x = label_w + i * cell + cell / 2
        if show_labels:
            parts.append(f'<text x="{label_w - 6}" y="{y:.1f}" text-anchor="end">{name}</text>')
            parts.append(
                f'<text x="{x:.1f}" y="{top - 6}" text-anchor="start" transform="rotate(-60 {x:.1f} {top - 6})">'
                f"{name}</text>"
            )
    for i, attacker in enumerate(matrix.tenants):
        for j, victim in enumerate(matrix.tenants):
            x, y = label_w + j * cell, top + i * cell
            attempts, blocked = matrix.cells.get((attacker, victim), (0, 0))
            leaks = attempts - blocked
            if attacker == victim:
                fill, text, tip = "#d4d4d4", "", f"{attacker}: itself"
            elif not attempts:
                fill, text, tip = "#f5f5f5", "", f"{attacker} → {victim}: not tested"
            elif leaks:
                share = leaks / attempts
                fill, text = f"rgb({200 - int(60 * share)},{40},{40})", str(leaks)
                tip = f"{attacker} → {victim}: {leaks} of {attempts} attempts NOT blocked"
            else:
                fill, text, tip = "#4ade80", "✓", f"{attacker} → {victim}: all {attempts} attempts blocked"
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell - 1}" height="{cell - 1}" fill="{fill}">'
                f"<title>{_t(tip)}</title></rect>"
            )
            if text and cell >= 18:
                colour = "#fff" if leaks else "#14532d"
                parts.append(
                    f'<text x="{x + cell / 2 - 0.5:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="middle" '
                    f'fill="{colour}" font-weight="bold">{_t(text)}</text>'
                )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated label went through _t()


class _Plot:
    """A plot area with linear axes, ticks and axis labels."""

    def __init__(
        self,
        x_range: tuple[float, float],
        y_range: tuple[float, float],
        x_label: str,
        y_label: str,
        width: int = 640,
        height: int = 280,
    ) -> None:
        self.left, self.right, self.top, self.bottom = 64, 16, 16, 44
        self.width, self.height = width, height
        self.x_ticks = _nice_ticks(*x_range)
        self.y_ticks = _nice_ticks(min(0.0, y_range[0]), y_range[1])
        self.x0, self.x1 = self.x_ticks[0], self.x_ticks[-1]
        self.y0, self.y1 = self.y_ticks[0], self.y_ticks[-1]
        self.parts: list[str] = []
        self._axes(x_label, y_label)

    def x(self, value: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return self.left + (value - self.x0) / span * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return self.height - self.bottom - (value - self.y0) / span * (self.height - self.top - self.bottom)

    def _axes(self, x_label: str, y_label: str) -> None:
        for tick in self.y_ticks:
            y = self.y(tick)
            self.parts.append(
                f'<line x1="{self.left}" x2="{self.width - self.right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>'
                f'<text x="{self.left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(tick)}</text>'
            )
        for tick in self.x_ticks:
            x = self.x(tick)
            self.parts.append(
                f'<text x="{x:.1f}" y="{self.height - self.bottom + 16}" text-anchor="middle">{_fmt(tick)}</text>'
            )
        base = self.height - self.bottom
        self.parts.append(
            f'<line x1="{self.left}" x2="{self.width - self.right}" y1="{base}" y2="{base}" stroke="#404040"/>'
            f'<text x="{(self.left + self.width - self.right) / 2:.1f}" y="{self.height - 6}" '
            f'text-anchor="middle">{_t(x_label)}</text>'
            f'<text x="14" y="{(self.top + base) / 2:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 14 {(self.top + base) / 2:.1f})">{_t(y_label)}</text>'
        )

    def threshold(self, value: float, label: str) -> None:
        if not self.y0 <= value <= self.y1:
            return
        y = self.y(value)
        self.parts.append(
            f'<line x1="{self.left}" x2="{self.width - self.right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#b91c1c" '
            f'stroke-dasharray="6 4"/><text x="{self.width - self.right - 4}" y="{y - 4:.1f}" text-anchor="end" '
            f'fill="#b91c1c">{_t(label)}</text>'
        )

    def svg(self, label: str) -> Markup:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{_t(label)}" '
            f'viewBox="0 0 {self.width} {self.height}" width="{self.width}" height="{self.height}" {FONT}>'
        )
        return Markup(head + "".join(self.parts) + "</svg>")  # noqa: S704 - labels escaped by _t()


Series = tuple[str, Sequence[tuple[float, float]]]


def line_chart(
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    title: str,
    threshold: tuple[float, str] | None = None,
) -> Markup:
    """One line per series, with a legend in the chart and an optional dashed threshold."""
    points = [p for _, values in series for p in values]
    xs, ys = [p[0] for p in points] or [0.0], [p[1] for p in points] or [0.0]
    high = max([*ys, threshold[0] if threshold else 0.0])
    plot = _Plot((min(xs), max(xs)), (min(ys), high * 1.05 or 1.0), x_label, y_label)
    if threshold:
        plot.threshold(*threshold)
    for index, (name, values) in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        path = " ".join(f"{plot.x(x):.1f},{plot.y(y):.1f}" for x, y in sorted(values))
        plot.parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        for x, y in values if len(values) <= 40 else ():
            plot.parts.append(
                f'<circle cx="{plot.x(x):.1f}" cy="{plot.y(y):.1f}" r="3" fill="{colour}">'
                f"<title>{_t(name)}: {_fmt(x)} → {_fmt(y)}</title></circle>"
            )
        plot.parts.append(
            f'<rect x="{plot.left + 8}" y="{plot.top + 4 + 16 * index}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{plot.left + 22}" y="{plot.top + 13 + 16 * index}">{_t(name)}</text>'
        )
    return plot.svg(title)


def latency_distribution(tenants: Sequence[tuple[str, dict[str, float]]], threshold_ms: float | None) -> Markup:
    """Per tenant: a bar from p50 to p95, a whisker to p99, a dot at the mean (slowest tenants first)."""
    ranked = sorted(tenants, key=lambda item: -item[1].get("p95", item[1].get("p50", 0.0)))[:MAX_LATENCY_TENANTS]
    high = max([max(q.values(), default=0.0) for _, q in ranked] + [threshold_ms or 0.0, 1.0])
    row, left, right, top = 16, 120, 20, 24
    width, height = 640, top + row * len(ranked) + 40
    span = width - left - right
    ticks = _nice_ticks(0.0, high)

    def x(value: float) -> float:
        return left + value / ticks[-1] * span

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-label="Latency distribution of the {len(ranked)} slowest tenants" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" {FONT}>'
    ]
    base = top + row * len(ranked)
    for tick in ticks:
        parts.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top}" y2="{base}" stroke="#e5e5e5"/>'
            f'<text x="{x(tick):.1f}" y="{base + 14}" text-anchor="middle">{_fmt(tick)}</text>'
        )
    parts.append(f'<text x="{left + span / 2}" y="{height - 6}" text-anchor="middle">latency (ms)</text>')
    if threshold_ms:
        parts.append(
            f'<line x1="{x(threshold_ms):.1f}" x2="{x(threshold_ms):.1f}" y1="{top - 8}" y2="{base}" '
            f'stroke="#b91c1c" stroke-dasharray="6 4"/><text x="{x(threshold_ms) - 4:.1f}" y="{top - 10}" '
            f'text-anchor="end" fill="#b91c1c">mean target {_fmt(threshold_ms)} ms</text>'
        )
    for i, (tenant, q) in enumerate(ranked):
        y = top + i * row
        p50, p95 = q.get("p50", 0.0), q.get("p95", q.get("p50", 0.0))
        p99 = q.get("p99", p95)
        tip = ", ".join(f"{k} {v:.1f} ms" for k, v in q.items())
        parts.append(
            f'<text x="{left - 6}" y="{y + 11}" text-anchor="end">{_t(tenant[:18])}</text>'
            f'<line x1="{x(p95):.1f}" x2="{x(p99):.1f}" y1="{y + 7}" y2="{y + 7}" stroke="#404040"/>'
            f'<rect x="{x(p50):.1f}" y="{y + 2}" width="{max(1.0, x(p95) - x(p50)):.1f}" height="10" '
            f'fill="{PALETTE[0]}"><title>{_t(tenant)}: {_t(tip)}</title></rect>'
        )
        if "mean" in q:
            parts.append(f'<circle cx="{x(q["mean"]):.1f}" cy="{y + 7}" r="3" fill="{PALETTE[1]}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - labels escaped by _t()

#!/usr/bin/python3
"""SVG plots of a benchmark run (bench/run.py), written without matplotlib.

    /usr/bin/python3 bench/plot.py bench/results/<run>/results.json

redraws the plots of an existing run next to its results.json. run.py calls
write_plots() itself at the end of every run.
"""

import json
import math
import sys
from pathlib import Path
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 760, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 190, 40, 60

# One colour per server, the same in every plot.
COLOURS = {
    "switchyard": "#1c71d8",
    "libsoup": "#e66100",
    "libwebsockets": "#2ec27e",
    "node-ws": "#c01c28",
    "python-websockets": "#813d9c",
    "raw TCP": "#77767b",
}
EXTRA_COLOURS = ["#1c71d8", "#e66100", "#2ec27e", "#c01c28", "#813d9c", "#865e3c", "#77767b"]


def colour(label, index):
    return COLOURS.get(label, EXTRA_COLOURS[index % len(EXTRA_COLOURS)])


def number(value):
    """A short tick label: 1, 20, 1.5k, 10M."""
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            value /= limit
            return f"{value:g}{suffix}"
    return f"{value:g}"


def nice_step(span, count=5):
    raw = span / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


class Axis:
    """Maps data values to pixels, linear or log10."""

    def __init__(self, low, high, pixel_low, pixel_high, log=False):
        if log:
            # Whole decades, but a value just past one (1 MiB = 1.05 M)
            # does not open a whole new decade.
            low = max(low, 1e-9)
            high = max(high, low * 10)
            low = 10 ** math.floor(math.log10(low) + 0.03)
            high = 10 ** math.ceil(math.log10(high) - 0.03)
        else:
            if high <= low:
                high = low + 1
            step = nice_step(high - low)
            low = math.floor(low / step) * step
            high = math.ceil(high / step) * step
        self.low, self.high, self.log = low, high, log
        self.pixel_low, self.pixel_high = pixel_low, pixel_high

    def __call__(self, value):
        if self.log:
            value = max(value, self.low)
            fraction = (math.log10(value) - math.log10(self.low)) / (
                math.log10(self.high) - math.log10(self.low))
        else:
            fraction = (value - self.low) / (self.high - self.low)
        return self.pixel_low + fraction * (self.pixel_high - self.pixel_low)

    def ticks(self):
        if self.log:
            exponent = round(math.log10(self.low))
            decades = round(math.log10(self.high)) - exponent
            # Narrow ranges get 2 and 5 between the decades.
            factors = (1, 2, 5) if decades <= 2 else (1,)
            ticks = []
            while 10 ** exponent <= self.high * 1.0001:
                ticks += [f * 10 ** exponent for f in factors if f * 10 ** exponent <= self.high * 1.0001]
                exponent += 1
            return ticks
        step = nice_step(self.high - self.low)
        ticks, value = [], self.low
        while value <= self.high + step / 1000:
            ticks.append(round(value, 10))
            value += step
        return ticks


class Svg:
    def __init__(self, width, height, title):
        self.parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, sans-serif" font-size="12">',
            f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
            f'<text x="{width / 2:.0f}" y="22" text-anchor="middle" font-size="15" '
            f'font-weight="bold">{escape(title)}</text>',
        ]

    def add(self, text):
        self.parts.append(text)

    def text(self, x, y, text, anchor="start", size=12, rotate=None, colour_="#000000"):
        transform = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate else ""
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
                 f'fill="{colour_}"{transform}>{escape(str(text))}</text>')

    def render(self):
        return "\n".join(self.parts + ["</svg>", ""])


def frame(svg, x, y, x_label, y_label, left, top, right, bottom, x_ticks=True):
    """Grid, ticks and axis labels of one plot area."""
    for tick in x.ticks():
        px = x(tick)
        svg.add(f'<line x1="{px:.1f}" y1="{top}" x2="{px:.1f}" y2="{bottom}" stroke="#deddda"/>')
        if x_ticks:
            svg.text(px, bottom + 16, number(tick), anchor="middle", size=11)
    for tick in y.ticks():
        py = y(tick)
        svg.add(f'<line x1="{left}" y1="{py:.1f}" x2="{right}" y2="{py:.1f}" stroke="#deddda"/>')
        svg.text(left - 6, py + 4, number(tick), anchor="end", size=11)
    svg.add(f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
            f'fill="none" stroke="#5e5c64"/>')
    if x_label:
        svg.text((left + right) / 2, bottom + 34, x_label, anchor="middle")
    if y_label:
        svg.text(left - 50, (top + bottom) / 2, y_label, anchor="middle", rotate=-90)


def legend(svg, labels, x, y):
    for index, label in enumerate(labels):
        svg.add(f'<rect x="{x}" y="{y + index * 20 - 9}" width="14" height="4" '
                f'fill="{colour(label, index)}"/>')
        svg.text(x + 20, y + index * 20 - 3, label, size=11)


def line_chart(title, series, x_label, y_label, x_log=False, y_log=False, y_zero=True,
               markers=True, note=None, limit=None):
    """series: [(label, [(x, y), …])]; limit: (y, label), a dashed
    horizontal line such as a target. Returns the SVG text."""
    points = [p for _, pts in series for p in pts]
    svg = Svg(WIDTH, HEIGHT, title)
    left, top, right, bottom = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    if not points:
        svg.text(WIDTH / 2, HEIGHT / 2, "no data", anchor="middle")
        return svg.render()
    xs = [p[0] for p in points]
    ys = [p[1] for p in points] + ([limit[0]] if limit else [])
    x = Axis(min(xs), max(xs), left, right, log=x_log)
    y_low = min(ys) if (y_log or not y_zero) else 0
    y = Axis(y_low, max(ys) if max(ys) > y_low else y_low + 1, bottom, top, log=y_log)
    frame(svg, x, y, x_label, y_label, left, top, right, bottom)
    if limit:
        py = y(limit[0])
        svg.add(f'<line x1="{left}" y1="{py:.1f}" x2="{right}" y2="{py:.1f}" stroke="#000000" '
                f'stroke-dasharray="3 3"/>')
        svg.text(right - 4, py - 5, limit[1], anchor="end", size=11)
    for index, (label, pts) in enumerate(series):
        if not pts:
            continue
        c = colour(label, index)
        path = " ".join(f"{'M' if i == 0 else 'L'}{x(px):.1f},{y(py):.1f}"
                        for i, (px, py) in enumerate(pts))
        dash = ' stroke-dasharray="6 4"' if label == "raw TCP" else ""
        svg.add(f'<path d="{path}" fill="none" stroke="{c}" stroke-width="2"{dash}/>')
        if markers:
            for px, py in pts:
                svg.add(f'<circle cx="{x(px):.1f}" cy="{y(py):.1f}" r="3" fill="{c}"/>')
    legend(svg, [label for label, _ in series], right + 16, top + 12)
    if note:
        svg.text(left, HEIGHT - 6, note, size=10, colour_="#5e5c64")
    return svg.render()


def cdf_points(histogram):
    """The load client's histogram ([[bucket upper µs, count], …]) as a CDF."""
    total = sum(count for _, count in histogram)
    if total == 0:
        return []
    points, seen = [], 0
    for upper, count in histogram:
        lower = upper / 10 ** (1 / 20)
        if not points:
            points.append((lower, 0.0))
        seen += count
        points.append((upper, seen / total))
    return points


def cdf_chart(title, series, note=None):
    """series: [(label, histogram)]: latency CDFs on a log axis."""
    curves = [(label, cdf_points(histogram)) for label, histogram in series if histogram]
    return line_chart(title, curves, "latency (µs, log scale)", "fraction of messages ≤ latency",
                      x_log=True, markers=False,
                      note=note or "From the load client's histogram: 20 buckets per decade.")


def time_panels(title, panels, y_label="latency (µs, log scale)"):
    """panels: [(label, [[ms, µs], …])]: one scatter per server, stacked."""
    panels = [(label, pts) for label, pts in panels if pts]
    panel_height, gap = 110, 12
    height = TOP + max(len(panels), 1) * (panel_height + gap) + 60
    svg = Svg(WIDTH, height, title)
    left, right = LEFT, WIDTH - 40
    if not panels:
        svg.text(WIDTH / 2, height / 2, "no data", anchor="middle")
        return svg.render()
    x_high = max(p[0] for _, pts in panels for p in pts)
    for index, (label, pts) in enumerate(panels):
        top = TOP + 10 + index * (panel_height + gap)
        bottom = top + panel_height
        x = Axis(0, x_high, left, right)
        ys = [p[1] for p in pts]
        y = Axis(min(ys), max(ys), bottom, top, log=True)
        frame(svg, x, y, None, None, left, top, right, bottom, x_ticks=index == len(panels) - 1)
        c = colour(label, index)
        dots = "".join(f"M{x(px):.1f},{y(py):.1f}h0" for px, py in pts)
        svg.add(f'<path d="{dots}" stroke="{c}" stroke-width="2.2" stroke-linecap="round" fill="none"/>')
        svg.text(left + 8, top + 14, label, size=12, colour_=c)
    svg.text((left + right) / 2, height - 12, "time since measuring began (ms)", anchor="middle")
    svg.text(18, height / 2, y_label, anchor="middle", rotate=-90)
    return svg.render()


def write_plots(results, out_dir):
    """Writes every plot that the results have data for; returns [(file, caption)]."""
    out_dir = Path(out_dir)
    scenarios = results.get("scenarios", {})
    written = []

    def save(name, caption, svg):
        (out_dir / name).write_text(svg, encoding="utf-8")
        written.append((name, caption))

    rtt = scenarios.get("rtt")
    if rtt:
        series = [(name, r.get("histogram")) for name, r in rtt.get("servers", {}).items()]
        if rtt.get("tcp"):
            series.append(("raw TCP", rtt["tcp"].get("histogram")))
        save("rtt-latency-cdf.svg", "Scenario 1: round-trip latency distribution per server",
             cdf_chart("Round trips, one connection, 32-byte text (CDF)", series))
        panels = [(name, r.get("series")) for name, r in rtt.get("servers", {}).items()]
        save("rtt-latency-over-time.svg", "Scenario 1: round-trip latency over time per server",
             time_panels("Round trips over time, one connection", panels))

    throughput = scenarios.get("throughput")
    if throughput:
        headline = throughput.get("headline_connections")
        runs = throughput.get("servers", {})
        curves = []
        for name, points in runs.items():
            curves.append((name, [(p["connections"], p["msgs_per_s"]) for p in points
                                  if "msgs_per_s" in p]))
        save("throughput-vs-clients.svg", "Scenario 2: throughput vs clients",
             line_chart(f"Echo throughput vs connections ({throughput.get('inflight', 16)} in flight each)",
                        curves, "connections (log scale)", "messages per second", x_log=True))
        at_headline = {name: next((p for p in points if p.get("connections") == headline), None)
                       for name, points in runs.items()}
        series = [(name, p.get("histogram")) for name, p in at_headline.items() if p]
        save("throughput-latency-cdf.svg",
             f"Scenario 2: latency distribution at {headline} connections",
             cdf_chart(f"Latency under load, {headline} connections × "
                       f"{throughput.get('inflight', 16)} in flight (CDF)", series))
        panels = [(name, p.get("series")) for name, p in at_headline.items() if p]
        save("throughput-latency-over-time.svg",
             f"Scenario 2: latency over time at {headline} connections",
             time_panels(f"Latency under load over time, {headline} connections", panels))

    fanout = scenarios.get("fanout")
    if fanout and fanout.get("runs"):
        series = [(f"{r['connections']} clients × {r['rate_hz']:g} Hz", r.get("histogram"))
                  for r in fanout["runs"] if "histogram" in r]
        save("fanout-delay-cdf.svg", "Scenario 3: sensor delay (source timestamp to receipt)",
             cdf_chart("Switchyard sensor fan-out: source time to receipt (CDF)", series,
                       note="Source timestamps have 1 ms resolution: delays read up to 1 ms long."))

    memory = scenarios.get("memory")
    if memory:
        curves = []
        for name, points in memory.get("servers", {}).items():
            curves.append((name, [(p["connections"], p["per_connection_kb"]) for p in points
                                  if "per_connection_kb" in p]))
        save("memory-per-connection.svg", "Scenario 4: resident memory per idle connection",
             line_chart("Resident memory per idle connection", curves,
                        "idle connections (log scale)", "KB per connection (VmRSS growth)",
                        x_log=True, limit=(10, "target: under 10 KB")))

    browser = scenarios.get("browser")
    if browser:
        series = [(name, r.get("histogram")) for name, r in browser.get("servers", {}).items()]
        save("browser-latency-cdf.svg", "Scenario 5: browser round-trip latency distribution",
             cdf_chart("Round trips from headless Chromium's page WebSocket (CDF)", series,
                       note="performance.now() in a cross-origin isolated page: 5 µs resolution."))

    large = scenarios.get("large")
    if large:
        curves = []
        for name, r in large.get("servers", {}).items():
            curves.append((name, [(s["size"], s["mb_per_s"]) for s in r.get("per_size", [])]))
        save("large-mb-per-s.svg", "Scenario 6: large-message echo throughput",
             line_chart("Binary echo of large messages, one connection", curves,
                        "message size (bytes, log scale)", "MB/s (payload, one way)", x_log=True))

    return written


def main():
    if len(sys.argv) != 2:
        print("usage: plot.py RESULTS.json", file=sys.stderr)
        return 2
    path = Path(sys.argv[1])
    for name, caption in write_plots(json.loads(path.read_text()), path.parent):
        print(f"{name}: {caption}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

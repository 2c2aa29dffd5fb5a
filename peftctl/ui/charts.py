"""The page's charts as Altair (Vega-Lite) specs, which gradio renders with its own bundled
Vega (no network): loss curves of several runs overlaid, and the Compare plot (method means
with 95 % CI bars over seeds, the Pareto front within each bench, real log axes, tooltips with
the true values, a click on a point opens its run)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

#: Tableau 10 then 10 lighter shades: a run's or method's colour is its index in the page's
#: sorted list, so it never changes between plots of the same page.
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip


#: Drawn as SVG (not canvas): crisp, and its marks and legends are in the page for tests.
SVG = {"embedOptions": {"renderer": "svg"}}


def colours(names: Sequence[str]) -> dict[str, str]:
    """A fixed colour per name (its position among the sorted names)."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(sorted(set(names)))}


def smooth(values: Sequence[float], weight: float) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average, debiased at the start."""
    if weight <= 0:
        return list(values)
    out, average = [], 0.0
    for i, value in enumerate(values, start=1):
        average = average * weight + (1 - weight) * value
        out.append(average / (1 - weight**i))
    return out


def loss_chart(
    curves: dict[str, list[dict[str, Any]]], palette: dict[str, str], smoothing: float = 0.0
):
    """Train loss lines (smoothed; the raw curve faint behind) and eval loss diamonds, one
    colour per run; ``curves`` maps a run id to ``data.loss_points`` of it."""
    import altair as alt
    import pandas as pd

    rows = []
    for run, points in curves.items():
        train = [p for p in points if p["series"] == "train"]
        for point, smoothed in zip(
            train, smooth([p["loss"] for p in train], smoothing), strict=True
        ):
            rows.append({"run": run, "step": point["step"], "loss": smoothed,
                         "raw": point["loss"], "series": "train"})  # fmt: skip
        rows += [
            {"run": run, "step": p["step"], "loss": p["loss"], "raw": p["loss"], "series": "eval"}
            for p in points
            if p["series"] == "eval"
        ]
    frame = pd.DataFrame(rows, columns=["run", "step", "loss", "raw", "series"])
    runs = list(curves)
    colour = alt.Color(
        "run:N",
        scale=alt.Scale(domain=runs, range=[palette.get(r, PALETTE[0]) for r in runs]),
        legend=alt.Legend(orient="bottom", columns=2, labelLimit=400),
    )
    steps = sorted(set(frame["step"]))
    ticks = {"values": steps} if len(steps) <= 12 else {"tickMinStep": 1}
    step = alt.X("step:Q", axis=alt.Axis(format="d", **ticks), title="step")
    tooltip = ["run:N", "series:N", "step:Q", alt.Tooltip("raw:Q", title="loss", format=".4f")]
    base = alt.Chart(frame).encode(x=step, color=colour, tooltip=tooltip)
    train = base.transform_filter(alt.datum.series == "train")
    layers = [train.mark_line(strokeWidth=2).encode(y=alt.Y("loss:Q", title="loss"))]
    if smoothing > 0:
        layers.insert(0, train.mark_line(opacity=0.25).encode(y="raw:Q"))
    evals = base.transform_filter(alt.datum.series == "eval")
    layers.append(evals.mark_line(strokeDash=[4, 3], opacity=0.7).encode(y="loss:Q"))
    layers.append(
        evals.mark_point(shape="diamond", filled=True, size=110, opacity=1).encode(y="loss:Q")
    )
    return alt.layer(*layers).properties(width=900, height=320, usermeta=SVG)


def compare_chart(
    points: list[dict[str, Any]],
    x: str,
    y: str,
    palette: dict[str, str],
    *,
    log_x: bool,
    x_title: str,
    y_title: str,
):
    """Method means (``data.method_points``) with 95 % CI bars, coloured by method; the
    Pareto front of each bench drawn as a line through its members; each seed faint behind."""
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame(points)
    if frame.empty:
        return None
    frame["href"] = ["?run=" + quote(ids[0]) for ids in frame["ids"]]
    frame["runs"] = [", ".join(ids[:4]) + (" …" if len(ids) > 4 else "") for ids in frame["ids"]]
    frame["on front"] = frame["front"].map({True: "yes", False: "no"})
    methods = sorted(set(frame["label"]))
    colour = alt.Color(
        "label:N",
        title="method",
        scale=alt.Scale(domain=methods, range=[palette.get(m, PALETTE[0]) for m in methods]),
        legend=alt.Legend(orient="right", labelLimit=300, symbolOpacity=1),
    )
    scale = alt.Scale(type="log") if log_x else alt.Scale(zero=False)
    x_enc = alt.X("x:Q", title=x_title, scale=scale)
    y_enc = alt.Y("y:Q", title=y_title, scale=alt.Scale(zero=False))
    tooltip = [
        alt.Tooltip("label:N", title="method"),
        alt.Tooltip("source:N", title="bench / folder"),
        alt.Tooltip("dataset:N"),
        alt.Tooltip("n:Q", title="seeds"),
        alt.Tooltip("x:Q", title=x, format=",.6~g"),
        alt.Tooltip("y:Q", title=f"{y} (mean)", format=".4f"),
        alt.Tooltip("ci:Q", title="± 95% CI", format=".4f"),
        alt.Tooltip("on front:N"),
        alt.Tooltip("vs best:N"),
        alt.Tooltip("runs:N", title="runs (click: open)"),
    ]
    base = alt.Chart(frame).encode(x=x_enc, color=colour)
    cells = pd.DataFrame(
        [{"x": p["x"], "y": v, "label": p["label"]} for p in points for v in p["values"]]
    )
    layers = [
        alt.Chart(cells).mark_circle(size=40, opacity=0.45).encode(x=x_enc, y=y_enc, color=colour),
        base.mark_rule(strokeWidth=2).encode(y="low:Q", y2="high:Q"),
        base.transform_filter(alt.datum.front)
        .mark_line(color="#555", strokeDash=[5, 4], strokeWidth=1)
        .encode(y=y_enc, detail="group:N", order="x:Q", color=alt.value("#555")),
        base.mark_point(filled=True, size=110, opacity=1, cursor="pointer").encode(
            y=y_enc,
            shape=alt.Shape(
                "on front:N",
                title="on the Pareto front",
                scale=alt.Scale(domain=["yes", "no"], range=["diamond", "circle"]),
            ),
            tooltip=tooltip,
            href="href:N",
        ),
    ]
    return alt.layer(*layers).properties(width=900, height=420, usermeta=SVG)

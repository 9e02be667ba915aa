"""Colours, fonts and sizes shared by every figure builder (one place to restyle)."""

SHARED = "#2563eb"  # blue: the model that shares
UNSHARED = "#f97316"  # orange: its unshared twin
DENSE = "#9ca3af"  # grey: the dense / third reference point
ACCENT = "#16a34a"  # green: savings, highlights
WARNING = "#dc2626"  # red: broken ties, refusals

FONT = "Inter, system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
TEMPLATE = "plotly_white"
HEIGHT = 360
MARGIN = dict(l=60, r=20, t=50, b=50)


def base_layout(title: str = "", **extra) -> dict:
    """Layout keywords every figure starts from."""
    return dict(
        title=dict(text=title, x=0.01, xanchor="left"),
        template=TEMPLATE,
        font=dict(family=FONT, size=13),
        height=HEIGHT,
        margin=MARGIN,
        **extra,
    )

# Sharing graph (plots/sharing_graph.py): one colour per tensor shared across rows, teal for run-time reuse.
GROUP_COLOURS = ["#db2777", "#7c3aed", "#2563eb", "#ea580c", "#16a34a", "#ca8a04", "#be123c", "#0891b2"]
SHARED_IN_ROW = "#6366f1"  # indigo: one tensor under the several names folded into one row
REUSED = "#0d9488"  # teal: a tensor whose module runs more than once per forward
PLAIN_TENSOR = "#e5e7eb"  # light grey: held once, used once
TENSOR_EDGE = "#6b7280"
PLAIN_EDGE = "#cbd5e1"
MODULE = "#374151"
TREE = "#9ca3af"
GUIDE = "#e5e7eb"
HIGHLIGHT = "#111827"
TEXT = "#111827"
MUTED = "#6b7280"

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

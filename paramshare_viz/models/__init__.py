"""One module per sharing form; importing this package registers them all.

The import order below is the display order of ``psv.zoo.forms()`` (the table
in DESIGN.md).
"""

# Display order, not alphabetical:
# isort: off
from paramshare_viz.models import conv  # noqa: F401
# isort: on

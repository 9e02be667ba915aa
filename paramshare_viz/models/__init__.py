"""One module per sharing form; importing this package registers them all.

The import order below is the display order of ``psv.zoo.forms()`` (the table
in DESIGN.md).
"""

# Display order, not alphabetical:
# isort: off
from paramshare_viz.models import conv  # noqa: F401
from paramshare_viz.models import patch_embed  # noqa: F401
from paramshare_viz.models import rnn  # noqa: F401
from paramshare_viz.models import ssm  # noqa: F401
from paramshare_viz.models import albert  # noqa: F401
from paramshare_viz.models import universal_transformer  # noqa: F401
from paramshare_viz.models import tied_embeddings  # noqa: F401
from paramshare_viz.models import tied_autoencoder  # noqa: F401
from paramshare_viz.models import multitask  # noqa: F401
from paramshare_viz.models import siamese  # noqa: F401
from paramshare_viz.models import gqa  # noqa: F401
from paramshare_viz.models import lora  # noqa: F401
from paramshare_viz.models import hashednet  # noqa: F401
# isort: on

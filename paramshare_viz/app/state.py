"""The one state object every dashboard panel shares."""

from __future__ import annotations

import traitlets


def in_words(err: BaseException) -> str:
    """What the status line says of ``err``: a refusal (``ValueError``) is its message; the GPU running out of
    memory says what to try (the allocator's message is long and technical); anything else names its type."""
    if isinstance(err, ValueError):
        return str(err)
    if type(err).__name__ == "OutOfMemoryError":  # torch's, named without importing torch here
        return f"the GPU ran out of memory ({str(err).splitlines()[0][:160]}). Try a smaller size or batch, float16, or the CPU"
    return f"{type(err).__name__}: {err}"


class AppState(traitlets.HasTraits):
    """What the dashboard's panels share.

    Panels take this object in their constructor and only ``observe``/``link``
    it; the status line shows ``status`` in plain words (never a traceback).
    """

    form = traitlets.Unicode("conv")  # a psv.zoo.forms() key
    device = traitlets.Unicode("cpu")  # one of psv.zoo.available_devices()
    dtype = traitlets.Unicode("float32")
    #: Config overrides of the last valid setting in Explore (what Compare and the other tabs reuse).
    overrides = traitlets.Dict()
    #: False while a page is still drawing the app (see Heartbeat); figures made meanwhile wait for it,
    #: since plotly.js takes over a second to start and would hold back the controls and numbers.
    drawn = traitlets.Bool(True)
    status = traitlets.Unicode("")
    status_level = traitlets.Enum(["info", "busy", "error"], default_value="info")

    @traitlets.validate("device")
    def _device_here(self, proposal: dict) -> str:
        """A device this machine lacks (a GPU on a CPU-only server) becomes ``cpu``, with a note."""
        from paramshare_viz import zoo  # torch, imported when a device is first set

        try:
            zoo.resolve_device(proposal["value"])
        except ValueError as err:
            self.info(f"{err}. Running on 'cpu' instead.")
            return "cpu"
        except RuntimeError:  # torch cannot parse the name
            self.info(f"device={proposal['value']!r} is not a device name. Running on 'cpu' instead.")
            return "cpu"
        return proposal["value"]

    def info(self, message: str) -> None:
        self._say("info", message)

    def busy(self, message: str) -> None:
        """Work is running; the message says what, and the page stays usable meanwhile."""
        self._say("busy", message)

    def error(self, message: str) -> None:
        self._say("error", message)

    def _say(self, level: str, message: str) -> None:
        with self.hold_trait_notifications():  # observers see both at once: no message shown at another's level
            self.status_level, self.status = level, message

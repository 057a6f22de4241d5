"""The Enhance tab: small views over one plain state object (see :mod:`.state`)."""
from imgen_desktop.ui.enhance.canvas import EnhanceCanvas

__all__ = ["EnhanceCanvas"]

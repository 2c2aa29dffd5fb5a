"""BitFit for peftctl: only bias terms train (Ben Zaken et al., 2022).

``plugin`` registers the method (no heavy imports), ``config`` holds its options and
``method`` the implementation, imported only when the method is used.
"""

__version__ = "0.2.0"

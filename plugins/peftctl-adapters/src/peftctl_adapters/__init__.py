"""Bottleneck adapters for peftctl through the ``adapters`` library (AdapterHub).

``plugin`` registers the methods (no heavy imports), ``config`` holds their options and
``method`` the implementation, imported only when a method is used.
"""

__version__ = "0.2.0"

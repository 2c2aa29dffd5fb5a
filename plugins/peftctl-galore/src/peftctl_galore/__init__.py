"""GaLore for peftctl: the linear weights train in full, their gradients are projected to a
low rank inside the optimiser (galore-torch), so the optimiser state is small.

``plugin`` registers the method (no heavy imports), ``config`` holds its options,
``optim`` builds the optimiser and ``method`` is the implementation.
"""

__version__ = "0.2.0"

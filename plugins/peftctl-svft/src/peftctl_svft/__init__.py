"""SVFT for peftctl: ``W + U M Vᵀ`` with U, V the singular vectors of the frozen W and a
sparse trainable M (Lingam et al., 2024).

``plugin`` registers the method (no heavy imports), ``config`` holds its options, ``layer``
the adapted linear and ``method`` the implementation, imported only when the method is used.
"""

__version__ = "0.2.0"

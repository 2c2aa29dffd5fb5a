"""OFT for peftctl: ``plugin`` registers it, ``config`` holds its options (light),
``method`` is the implementation (peft, imported only when used)."""

"""``python -m peftctl`` (what ``accelerate launch -m peftctl`` runs)."""

from peftctl.cli import main

if __name__ == "__main__":
    main()

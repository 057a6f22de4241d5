"""``python -m imgen_desktop`` opens the window."""
from imgen_desktop.app import main

if __name__ == "__main__":
    raise SystemExit(main())

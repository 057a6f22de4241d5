"""The engine: pure Python + torch + numpy + pillow. Never imports Qt (enforced by import-linter)."""

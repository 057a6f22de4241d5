"""Qt widgets and workers. Never does tensor math; talks to ``core`` through plain data."""

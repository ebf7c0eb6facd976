"""The headless commands of ``main.py`` that need no torch (classify, clips, segments, self-test)."""

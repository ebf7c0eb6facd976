"""The live path: capture sources, the ring buffer, recording and the streaming classifier."""

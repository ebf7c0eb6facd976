"""Views of an index (engine.index): the map of its windows (``map_view``)."""

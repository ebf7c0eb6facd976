"""Region annotations on recordings and the label files other tools exchange."""

"""gallerypipe: camera cards in, a Hugo page bundle, web renditions and a manifest out."""

__version__ = "0.1.0"

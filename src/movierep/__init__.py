"""movierep: self-supervised representations of movies at every level of their hierarchy."""

__version__ = "0.1.0"

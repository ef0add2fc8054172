"""alstrial: run a randomized ALS cell-therapy trial from first patient to final report."""

__version__ = "0.1.0"

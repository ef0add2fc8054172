"""End-to-end flows that compose the layers (demo, analyze, report); nothing below imports this package."""

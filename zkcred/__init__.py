"""The thin ``zkcred`` command line that composes every part."""

"""`make bench`: the speed and memory figures the issues name, measured on a demo database."""

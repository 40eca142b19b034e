"""Reports (docs/design.md, "Reports"): the PermenPAN-RB 35/2012 forms, their PDF and Excel files, and
the period digest."""
